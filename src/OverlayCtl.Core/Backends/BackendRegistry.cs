using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Backends;

/// <summary>
/// Every backend overlayctl knows, as flannel's <c>pkg/backend/manager.go</c> keeps them: adding one is a
/// folder and a line here. An explicit list, not discovery, so the native binary needs no reflection.
/// </summary>
public static class BackendRegistry
{
    public static IReadOnlyList<IBackend> All { get; } =
    [
        new Vxlan.VxlanBackend(),
        new Ovs.OvsBackend(),
        new HostGw.HostGwBackend(),
        new WireGuard.WireGuardBackend(),
    ];

    /// <summary>The backend a spec without <c>network.backend</c> uses: flannel's default.</summary>
    public static IBackend Default => All[0];

    /// <summary>The backend the spec spells <paramref name="name"/>, or null.</summary>
    public static IBackend? Find(string name) => All.FirstOrDefault(b => b.Name == name);

    /// <summary>The spec's choices, as an error's fix spells them: "vxlan, ovs, host-gw or wireguard".</summary>
    public static string Choices => string.Join(", ", All.Take(All.Count - 1).Select(b => b.Name)) + " or " + All[^1].Name;

    /// <summary>
    /// The backend whose overlay device is named <paramref name="device"/>, selected or not (a switch away
    /// still removes the old backend's device), or null: what no other interface overlayctl manages may be called.
    /// </summary>
    public static IBackend? DeviceOwner(ClusterSpec spec, string device) => All.FirstOrDefault(b => b.Device(spec) == device);

    /// <summary>Every key any backend reads under <c>network:</c>.</summary>
    public static IEnumerable<string> NetworkKeys => All.SelectMany(b => b.NetworkKeys).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// What a host asks for when it wants a lease: its address, its pin, and the selected backend's data, from
    /// <paramref name="observed"/> when the backend needs the host's word (<see cref="IBackend.LeaseReads"/>).
    /// </summary>
    public static LeaseRequest RequestFor(ClusterSpec spec, HostSpec host, State.ObservedHost? observed = null)
    {
        var backend = spec.Network.Backend;
        var data = backend.LeaseData(spec, host, observed);
        var request = new LeaseRequest(host.Address, host.Subnet, backend.LeaseType, data.Vni, data.VtepMac, host.Name, data.PublicKey, data.Port);
        return spec.Network.Ipv6 is null ? request : request with { PublicIpv6 = host.Address6, PinnedSubnet6 = host.Subnet6, VtepMac6 = data.VtepMac6 };
    }

    /// <summary>Whether the selected backend must read a host before it can lease it.</summary>
    public static bool LeaseNeedsHost(ClusterSpec spec, HostSpec host) => spec.Network.Backend.LeaseReads(spec, host).Count > 0;

    /// <summary>flannel's network config for the spec.</summary>
    public static NetworkConfig ConfigOf(ClusterSpec spec)
    {
        var network = spec.Network;
        var data = network.Backend.ConfigData(spec);
        return new NetworkConfig(network.Cidr, network.SubnetLength, network.SubnetMin, network.SubnetMax, network.Backend.LeaseType, data.Vni, data.Port, data.ListenPort, data.PersistentKeepaliveInterval)
        {
            Ipv6 = network.Ipv6 is { } v6 ? new Ipv6NetworkConfig(v6.Cidr, v6.SubnetLength, v6.SubnetMin, v6.SubnetMax) : null,
        };
    }

    /// <summary>Every backend's devices on the host, selected or left behind: routes via them are overlayctl's.</summary>
    public static HashSet<string> OwnedDevices(ClusterSpec spec, State.ObservedHost observed) =>
        All.SelectMany(b => b.OwnedDevices(spec, observed)).ToHashSet(StringComparer.Ordinal);

    /// <summary>What to read from a host: what the selected backend needs, and what the others need to find what they left behind.</summary>
    public static IReadOnlyList<HostRead> ReadsFor(ClusterSpec spec, HostSpec host) =>
        [.. All.SelectMany(b => b.Reads(spec, host, selected: b == spec.Network.Backend)),
         new HostRead.Ipv6(spec.Network.Ipv6 is null && host.Address6 is null ? new Ipv6Traces(spec.Docker.SubnetEnvFor(host), spec.Docker.DaemonConfigFor(host)) : null)];
}
