using System.Globalization;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using static OverlayCtl.Core.Planning.Ops;

namespace OverlayCtl.Core.Backends.Ovs;

/// <summary>
/// An Open vSwitch VXLAN mesh: an OVS bridge joined to the docker bridge by a veth pair, and one
/// <c>type=vxlan</c> port per peer. Tunnel ports are <c>protected</c> (OVS's split horizon: nothing
/// arriving on one tunnel leaves by another), so a full mesh floods without loops. Each peer's subnet
/// is routed via the peer's docker gateway, which the mesh makes a neighbour on the docker bridge.
/// Every OVS change for a host is one <c>ovs-vsctl</c> transaction; <c>--may-exist</c>/<c>--if-exists</c>
/// make a re-run harmless.
/// </summary>
public sealed class OvsBackend : IBackend
{
    /// <summary>The veth end enslaved to the docker bridge.</summary>
    public const string DockerEnd = "ovl0-docker";

    /// <summary>The veth end that is a port of the OVS bridge.</summary>
    public const string OvsEnd = "ovl0-ovs";

    /// <summary>The <c>external_ids</c> key marking a bridge overlayctl created (value: the cluster name).</summary>
    public const string OwnerKey = "overlayctl-cluster";

    public BackendKind Kind => BackendKind.Ovs;

    /// <summary>A peer's tunnel port: <c>vx-</c> and its underlay address in hex (fits IFNAMSIZ, stable).</summary>
    public static string TunnelName(Ipv4Address peer) => "vx-" + peer.Value.ToString("x8", CultureInfo.InvariantCulture);

    public static bool IsTunnelName(string name) =>
        name.Length == 11 && name.StartsWith("vx-", StringComparison.Ordinal) && name[3..].All(char.IsAsciiHexDigitLower);

    public int DefaultMtu(int underlayMtu) => underlayMtu - 50;

    /// <summary>Routes via the docker bridge carry overlayctl's proto; the bridge itself is not the backend's.</summary>
    public IEnumerable<string> OwnedDevices(ClusterSpec spec) => [];

    public IEnumerable<string> Markers(ClusterSpec spec) => [DockerEnd, OvsEnd, spec.Network.Ovs.Bridge];

    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var ovs = spec.Network.Ovs;
        var db = ovs.DbFor(host);
        if (observed.Ovs?.FindBridge(ovs.Bridge) is { } bridge)
        {
            if (bridge.ExternalIds.ContainsKey(OwnerKey))
                yield return Vsctl(ChangeKind.Remove, $"ovs bridge {ovs.Bridge}", db, "--if-exists", "del-br", ovs.Bridge);
            else
                // An operator's bridge: take out only the ports overlayctl added.
                foreach (var port in bridge.Ports.Where(p => p.Name == OvsEnd || IsTunnelName(p.Name)))
                    yield return Vsctl(ChangeKind.Remove, $"ovs port {port.Name}", db, "--if-exists", "del-port", ovs.Bridge, port.Name);
        }
        if (observed.FindLink(DockerEnd) is { Kind: "veth" })
            yield return Ip(ChangeKind.Remove, $"link {DockerEnd}", "link", "del", DockerEnd);
    }

    public BackendState Converge(BackendContext c)
    {
        var spec = c.Spec;
        var ovs = spec.Network.Ovs;
        var db = ovs.DbFor(c.Host);
        var docker = spec.Docker.Bridge;
        var mtu = c.Mtu.ToString(CultureInfo.InvariantCulture);
        var ops = new List<Operation>();

        // The veth pair joining the docker bridge to the OVS bridge.
        var dockerEnd = c.Observed.FindLink(DockerEnd);
        var ovsEnd = c.Observed.FindLink(OvsEnd);
        var pairIntact = dockerEnd is { Kind: "veth" } && ovsEnd is { Kind: "veth" };
        if (!pairIntact)
        {
            if (dockerEnd is not null) ops.Add(Ip(ChangeKind.Change, $"link {DockerEnd}", "link", "del", DockerEnd));
            if (ovsEnd is not null && ovsEnd.Kind != "veth")
                throw new PlanningException($"{c.Host.Name}: {OvsEnd} exists but is a {ovsEnd.Kind ?? "plain"} device; overlayctl needs that name for its veth to {ovs.Bridge}");
            ops.Add(Ip(dockerEnd is null ? ChangeKind.Add : ChangeKind.Change, $"link {DockerEnd}",
                "link", "add", DockerEnd, "mtu", mtu, "type", "veth", "peer", "name", OvsEnd, "mtu", mtu));
        }
        else
        {
            if (dockerEnd!.Mtu != c.Mtu) ops.Add(Ip(ChangeKind.Change, $"link {DockerEnd} mtu", "link", "set", "dev", DockerEnd, "mtu", mtu));
            if (ovsEnd!.Mtu != c.Mtu) ops.Add(Ip(ChangeKind.Change, $"link {OvsEnd} mtu", "link", "set", "dev", OvsEnd, "mtu", mtu));
        }
        if (!pairIntact || dockerEnd!.Master != docker || !dockerEnd.Up)
            ops.Add(Ip(pairIntact ? ChangeKind.Change : ChangeKind.Add, $"link {DockerEnd} in {docker}", "link", "set", DockerEnd, "master", docker, "up"));
        if (!pairIntact || !ovsEnd!.Up)
            ops.Add(Ip(pairIntact ? ChangeKind.Change : ChangeKind.Add, $"link {OvsEnd} up", "link", "set", OvsEnd, "up"));

        // The OVS bridge, its MTU, and its end of the veth.
        var bridge = c.Observed.Ovs?.FindBridge(ovs.Bridge);
        if (bridge is null)
            ops.Add(Vsctl(ChangeKind.Add, $"ovs bridge {ovs.Bridge}", db, "--may-exist", "add-br", ovs.Bridge,
                "--", "set", "bridge", ovs.Bridge, $"datapath_type={ovs.DatapathType}", $"external_ids:{OwnerKey}={spec.Name}"));
        else if ((bridge.DatapathType ?? "system") != ovs.DatapathType)
            ops.Add(Vsctl(ChangeKind.Change, $"ovs bridge {ovs.Bridge} datapath", db, "set", "bridge", ovs.Bridge, $"datapath_type={ovs.DatapathType}"));
        if (bridge?.FindPort(ovs.Bridge)?.Mtu != c.Mtu)
            ops.Add(Vsctl(bridge is null ? ChangeKind.Add : ChangeKind.Change, $"ovs bridge {ovs.Bridge} mtu", db, "set", "interface", ovs.Bridge, $"mtu_request={mtu}"));
        if (bridge?.FindPort(OvsEnd) is null)
            ops.Add(Vsctl(ChangeKind.Add, $"ovs port {OvsEnd}", db, "--may-exist", "add-port", ovs.Bridge, OvsEnd));

        // One protected VXLAN port per peer; tunnel ports for peers that left go.
        var routes = new List<DesiredRoute>();
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        var vni = spec.Network.Vni.ToString(CultureInfo.InvariantCulture);
        var port = spec.Network.Port.ToString(CultureInfo.InvariantCulture);
        foreach (var peer in c.Peers.OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            var name = TunnelName(lease.PublicIp);
            wanted.Add(name);
            var remote = lease.PublicIp.ToString();
            var current = bridge?.FindPort(name);
            var good = current is { Type: "vxlan", Protected: true }
                && current.Options.GetValueOrDefault("remote_ip") == remote
                && current.Options.GetValueOrDefault("key") == vni
                && current.Options.GetValueOrDefault("dst_port") == port;
            if (!good)
                ops.Add(Vsctl(current is null ? ChangeKind.Add : ChangeKind.Change, $"ovs port {name}", db,
                    "--may-exist", "add-port", ovs.Bridge, name,
                    "--", "set", "interface", name, "type=vxlan", $"options:remote_ip={remote}", $"options:key={vni}", $"options:dst_port={port}",
                    "--", "set", "port", name, "protected=true"));
            routes.Add(new DesiredRoute(lease.Subnet, lease.Subnet.Gateway, docker, Onlink: true));
        }
        foreach (var stale in bridge?.Ports.Where(p => IsTunnelName(p.Name) && !wanted.Contains(p.Name)) ?? [])
            ops.Add(Vsctl(ChangeKind.Remove, $"ovs port {stale.Name}", db, "--if-exists", "del-port", ovs.Bridge, stale.Name));
        return new BackendState(ops, routes);
    }
}
