using System.Globalization;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using static OverlayCtl.Core.Planning.Ops;

namespace OverlayCtl.Core.Backends.Ovs;

/// <summary>
/// An Open vSwitch VXLAN mesh: an OVS bridge with one <c>type=vxlan</c> port per peer, whose internal
/// interface holds the host's VTEP address (the subnet's network address, as flannel's VXLAN device
/// does). Each peer's subnet is routed via the peer's VTEP address on that interface, so traffic
/// between docker0 and the mesh is routed, never bridged: containers see only their own gateway, and
/// no ICMP redirect can point them at another host's docker0. Tunnel ports are <c>protected</c>
/// (OVS's split horizon: nothing arriving on one tunnel leaves by another), so the full mesh floods
/// ARP without loops. Every OVS change for a host is one <c>ovs-vsctl</c> transaction;
/// <c>--may-exist</c>/<c>--if-exists</c> make a re-run harmless. overlayctl marks the bridge it
/// creates and never touches one it did not. The VNI and UDP port are the vxlan backend's keys.
/// </summary>
public sealed class OvsBackend : IBackend
{
    /// <summary>The spec's spelling.</summary>
    public const string BackendName = "ovs";

    /// <summary>The <c>external_ids</c> key marking a bridge overlayctl created (value: the cluster name).</summary>
    public const string OwnerKey = "overlayctl-cluster";

    public string Name => BackendName;

    public string LeaseType => "ovs";

    public IReadOnlyList<string> NetworkKeys { get; } = ["ovs"];

    /// <summary>VXLAN over IPv4, as the vxlan backend.</summary>
    public bool SupportsIpv6 => false;

    public int Overhead => 50;

    public IReadOnlyList<DoctorCheck> Checks { get; } =
    [
        VxlanPortCheck.Check,
        new("ovs-underlay", "with the userspace (netdev) OVS datapath, the underlay address is on an OVS bridge (userspace tunnels start nowhere else)"),
        new("peers", "the OVS bridge exists and every peer has its tunnel port (vxlan to its address, the spec's VNI and UDP port, protected) and route"),
    ];

    public static OvsSettings SettingsOf(ClusterSpec spec) => spec.Network.SettingsOf<OvsSettings>(BackendName);

    /// <summary>A peer's tunnel port: <c>vx-</c> and its underlay address in hex (fits IFNAMSIZ, stable).</summary>
    public static string TunnelName(Ipv4Address peer) => "vx-" + peer.Value.ToString("x8", CultureInfo.InvariantCulture);

    public static bool IsTunnelName(string name) =>
        name.Length == 11 && name.StartsWith("vx-", StringComparison.Ordinal) && name[3..].All(char.IsAsciiHexDigitLower);

    public BackendSettings ReadSpec(BackendSpecContext context) => OvsSettings.Read(context);

    /// <summary>The bridge's internal interface carries the VTEP address and the peer routes.</summary>
    public string? Device(ClusterSpec spec) => SettingsOf(spec).Bridge;

    public LeaseData LeaseData(ClusterSpec spec, HostSpec host, ObservedHost? observed) => new(VxlanBackend.SettingsOf(spec).Vni, null);

    public IReadOnlyList<HostRead> LeaseReads(ClusterSpec spec, HostSpec host) => [];

    public IEnumerable<Operation> PrepareLease(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public IEnumerable<Operation> RotateKeys(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public ConfigData ConfigData(ClusterSpec spec) => new(VxlanBackend.SettingsOf(spec).Vni, VxlanBackend.SettingsOf(spec).Port);

    /// <summary>Always when selected; otherwise only when the bridge's interface shows in <c>ip link</c> (an earlier ovs apply left it).</summary>
    public IEnumerable<HostRead> Reads(ClusterSpec spec, HostSpec host, bool selected)
    {
        var ovs = SettingsOf(spec);
        return [new HostRead.OpenVSwitch(ovs.DbFor(host), selected ? null : ovs.Bridge)];
    }

    /// <summary>The bridge's internal interface carries the peer routes; they vanish with it.</summary>
    public IEnumerable<string> OwnedDevices(ClusterSpec spec, ObservedHost observed) => [SettingsOf(spec).Bridge];

    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var ovs = SettingsOf(spec);
        if (observed.Ovs?.FindBridge(ovs.Bridge) is { } bridge && bridge.ExternalIds.ContainsKey(OwnerKey))
            yield return Vsctl(ChangeKind.Remove, ResourceAddress.OvsBridge(ovs.Bridge), ovs.DbFor(host), "--if-exists", "del-br", ovs.Bridge);
    }

    public BackendState Converge(BackendContext c)
    {
        var spec = c.Spec;
        var ovs = SettingsOf(spec);
        var vxlan = VxlanBackend.SettingsOf(spec);
        var name = ovs.Bridge;
        var db = ovs.DbFor(c.Host);
        var mtu = c.Mtu.ToString(CultureInfo.InvariantCulture);
        var ops = new List<Operation>();

        var bridge = c.Observed.Ovs?.FindBridge(name);
        if (bridge is not null && !bridge.ExternalIds.ContainsKey(OwnerKey))
            throw new PlanningException($"{c.Host.Name}: the OVS bridge {name} exists but overlayctl did not create it; set network.ovs.bridge to a name of overlayctl's own");
        if (bridge is null)
            ops.Add(Vsctl(ChangeKind.Add, ResourceAddress.OvsBridge(name), db, "--may-exist", "add-br", name,
                "--", "set", "bridge", name, $"datapath_type={ovs.DatapathType}", $"external_ids:{OwnerKey}={spec.Name}"));
        else if ((bridge.DatapathType ?? "system") != ovs.DatapathType)
            ops.Add(Vsctl(ChangeKind.Change, ResourceAddress.OvsBridge(name, "datapath"), db, "set", "bridge", name, $"datapath_type={ovs.DatapathType}").Shows(bridge.DatapathType ?? "system", ovs.DatapathType));
        if (bridge?.FindPort(name)?.Mtu != c.Mtu)
        {
            var setMtu = Vsctl(bridge is null ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.OvsBridge(name, "mtu"), db, "set", "interface", name, $"mtu_request={mtu}");
            ops.Add(bridge is null ? setMtu : setMtu.Shows(bridge.FindPort(name)?.Mtu?.ToString(CultureInfo.InvariantCulture) ?? "(unset)", mtu));
        }

        // One protected VXLAN port per peer; tunnel ports for peers that left go.
        var routes = new List<DesiredRoute>();
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var peer in c.Peers.OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            var tunnel = OvsTunnel.For(lease.PublicIp, vxlan);
            wanted.Add(tunnel.Name);
            var current = bridge?.FindPort(tunnel.Name);
            if (tunnel.Problems(current, name).Count > 0)
                ops.Add(Vsctl(current is null ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.OvsPort(tunnel.Name), db, tunnel.Set(name)));
            routes.Add(new DesiredRoute(lease.Subnet, lease.Subnet.Network, name, Onlink: true));
        }
        foreach (var stale in bridge?.Ports.Where(p => IsTunnelName(p.Name) && !wanted.Contains(p.Name)) ?? [])
            ops.Add(Vsctl(ChangeKind.Remove, ResourceAddress.OvsPort(stale.Name), db, "--if-exists", "del-port", name, stale.Name));

        // The VTEP address on the bridge's internal interface, which ovs-vsctl has created by now.
        var vtep = new InterfaceAddress(c.Lease.Subnet.Network, 32);
        var link = bridge is null ? null : c.Observed.FindLink(name);
        var addresses = link is null ? [] : c.Observed.AddressesOf(name).ToList();
        foreach (var stale in addresses.Where(a => a != vtep))
            ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Address(stale, name), "addr", "del", stale.ToString(), "dev", name));
        if (!addresses.Contains(vtep))
            ops.Add(Planner.AddressChange(Ip(ChangeKind.Add, ResourceAddress.Address(vtep, name), "addr", "add", vtep.ToString(), "dev", name), addresses, vtep));
        if (link is not { Up: true })
            ops.Add(Ip(link is null ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Link(name, "up"), "link", "set", name, "up"));
        return new BackendState(ops, routes, bridge is null ? new HashSet<string>(StringComparer.Ordinal) { name } : null);
    }

    /// <summary>A peer lacks its route, or its tunnel port, or both.</summary>
    public BackendStatus Status(ClusterSpec spec, Lease lease, ObservedHost observed, HostPlan plan)
    {
        var bridge = SettingsOf(spec).Bridge;
        return new BackendStatus(bridge, BackendStatus.LinkState(observed, bridge),
            Math.Max(BackendStatus.Wanting(plan, ResourceKind.Route), BackendStatus.Wanting(plan, ResourceKind.OvsPort)));
    }

    public IEnumerable<Finding> Check(DoctorContext context)
    {
        var (spec, host, peers, observed) = (context.Input.Spec, context.Input.Host, context.Input.Peers, context.Input.Observed);
        var ovs = SettingsOf(spec);
        foreach (var finding in VxlanPortCheck.Run(context, VxlanBackend.SettingsOf(spec).Port)) yield return finding;

        if (ovs.DatapathType == "netdev" && context.Underlay is { } underlay && observed.Ovs is { } state && state.FindBridge(underlay.Interface) is null)
            yield return context.Finding("ovs-underlay", Severity.Error,
                $"{host.Address} is on {underlay.Interface}, which is not an OVS bridge: userspace (netdev) VXLAN ports only send from an address on an OVS bridge, so no tunnel carries traffic",
                $"put {underlay.Interface} into an OVS netdev bridge and move {host.Address} onto that bridge (as OVS-DPDK hosts do; lab up builds br-phy), or use datapathType: system");

        var name = ovs.Bridge;
        if (observed.Ovs?.FindBridge(name) is not { } bridge)
        {
            if (peers.Count > 0) yield return context.Finding("peers", Severity.Error, $"the OVS bridge {name} is missing: no tunnel to any peer", "overlayctl apply");
            yield break;
        }
        var vxlan = VxlanBackend.SettingsOf(spec);
        var routes = observed.Routes.Where(r => r.Destination is not null).ToLookup(r => r.Destination!.Value);
        foreach (var peer in peers)
        {
            var l = peer.Lease;
            var tunnel = OvsTunnel.For(l.PublicIp, vxlan);
            var problems = tunnel.Problems(bridge.FindPort(tunnel.Name), name).ToList();
            if (!routes[l.Subnet].Any(r => r.Device == name)) problems.Add($"no route to {l.Subnet} via {name}");
            if (problems.Count > 0)
                yield return context.Finding("peers", Severity.Error, $"peer {peer.HostName ?? l.PublicIp.ToString()} ({l.Subnet}): {string.Join("; ", problems)}", "overlayctl apply (re-adds them)");
        }
    }
}
