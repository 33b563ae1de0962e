using System.Globalization;
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
/// creates and never touches one it did not.
/// </summary>
public sealed class OvsBackend : IBackend
{
    /// <summary>The <c>external_ids</c> key marking a bridge overlayctl created (value: the cluster name).</summary>
    public const string OwnerKey = "overlayctl-cluster";

    public BackendKind Kind => BackendKind.Ovs;

    /// <summary>A peer's tunnel port: <c>vx-</c> and its underlay address in hex (fits IFNAMSIZ, stable).</summary>
    public static string TunnelName(Ipv4Address peer) => "vx-" + peer.Value.ToString("x8", CultureInfo.InvariantCulture);

    public static bool IsTunnelName(string name) =>
        name.Length == 11 && name.StartsWith("vx-", StringComparison.Ordinal) && name[3..].All(char.IsAsciiHexDigitLower);

    public int DefaultMtu(int underlayMtu) => underlayMtu - 50;

    /// <summary>The bridge's internal interface carries the peer routes; they vanish with it.</summary>
    public IEnumerable<string> OwnedDevices(ClusterSpec spec) => [spec.Network.Ovs.Bridge];

    /// <summary>The bridge's internal interface shows in <c>ip link</c> while Open vSwitch runs.</summary>
    public IEnumerable<string> Markers(ClusterSpec spec) => [spec.Network.Ovs.Bridge];

    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var ovs = spec.Network.Ovs;
        if (observed.Ovs?.FindBridge(ovs.Bridge) is { } bridge && bridge.ExternalIds.ContainsKey(OwnerKey))
            yield return Vsctl(ChangeKind.Remove, $"ovs bridge {ovs.Bridge}", ovs.DbFor(host), "--if-exists", "del-br", ovs.Bridge);
    }

    public BackendState Converge(BackendContext c)
    {
        var spec = c.Spec;
        var ovs = spec.Network.Ovs;
        var name = ovs.Bridge;
        var db = ovs.DbFor(c.Host);
        var mtu = c.Mtu.ToString(CultureInfo.InvariantCulture);
        var ops = new List<Operation>();

        var bridge = c.Observed.Ovs?.FindBridge(name);
        if (bridge is not null && !bridge.ExternalIds.ContainsKey(OwnerKey))
            throw new PlanningException($"{c.Host.Name}: the OVS bridge {name} exists but overlayctl did not create it; set network.ovs.bridge to a name of overlayctl's own");
        if (bridge is null)
            ops.Add(Vsctl(ChangeKind.Add, $"ovs bridge {name}", db, "--may-exist", "add-br", name,
                "--", "set", "bridge", name, $"datapath_type={ovs.DatapathType}", $"external_ids:{OwnerKey}={spec.Name}"));
        else if ((bridge.DatapathType ?? "system") != ovs.DatapathType)
            ops.Add(Vsctl(ChangeKind.Change, $"ovs bridge {name} datapath", db, "set", "bridge", name, $"datapath_type={ovs.DatapathType}"));
        if (bridge?.FindPort(name)?.Mtu != c.Mtu)
            ops.Add(Vsctl(bridge is null ? ChangeKind.Add : ChangeKind.Change, $"ovs bridge {name} mtu", db, "set", "interface", name, $"mtu_request={mtu}"));

        // One protected VXLAN port per peer; tunnel ports for peers that left go.
        var routes = new List<DesiredRoute>();
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        var vni = spec.Network.Vni.ToString(CultureInfo.InvariantCulture);
        var port = spec.Network.Port.ToString(CultureInfo.InvariantCulture);
        foreach (var peer in c.Peers.OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            var tunnel = TunnelName(lease.PublicIp);
            wanted.Add(tunnel);
            var remote = lease.PublicIp.ToString();
            var current = bridge?.FindPort(tunnel);
            var good = current is { Type: "vxlan", Protected: true }
                && current.Options.GetValueOrDefault("remote_ip") == remote
                && current.Options.GetValueOrDefault("key") == vni
                && current.Options.GetValueOrDefault("dst_port") == port;
            if (!good)
                ops.Add(Vsctl(current is null ? ChangeKind.Add : ChangeKind.Change, $"ovs port {tunnel}", db,
                    "--may-exist", "add-port", name, tunnel,
                    "--", "set", "interface", tunnel, "type=vxlan", $"options:remote_ip={remote}", $"options:key={vni}", $"options:dst_port={port}",
                    "--", "set", "port", tunnel, "protected=true"));
            routes.Add(new DesiredRoute(lease.Subnet, lease.Subnet.Network, name, Onlink: true));
        }
        foreach (var stale in bridge?.Ports.Where(p => IsTunnelName(p.Name) && !wanted.Contains(p.Name)) ?? [])
            ops.Add(Vsctl(ChangeKind.Remove, $"ovs port {stale.Name}", db, "--if-exists", "del-port", name, stale.Name));

        // The VTEP address on the bridge's internal interface, which ovs-vsctl has created by now.
        var vtep = new InterfaceAddress(c.Lease.Subnet.Network, 32);
        var link = bridge is null ? null : c.Observed.FindLink(name);
        var addresses = link is null ? [] : c.Observed.AddressesOf(name).ToList();
        foreach (var stale in addresses.Where(a => a != vtep))
            ops.Add(Ip(ChangeKind.Remove, $"address {stale} on {name}", "addr", "del", stale.ToString(), "dev", name));
        if (!addresses.Contains(vtep))
            ops.Add(Ip(ChangeKind.Add, $"address {vtep} on {name}", "addr", "add", vtep.ToString(), "dev", name));
        if (link is not { Up: true })
            ops.Add(Ip(link is null ? ChangeKind.Add : ChangeKind.Change, $"link {name} up", "link", "set", name, "up"));
        return new BackendState(ops, routes, bridge is null ? new HashSet<string>(StringComparer.Ordinal) { name } : null);
    }
}
