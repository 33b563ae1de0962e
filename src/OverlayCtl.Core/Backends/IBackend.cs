using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Backends;

/// <summary>
/// One way of carrying traffic between hosts. A backend turns (this host, its lease, its peers,
/// what is on the host now) into the operations for its own devices and the routes it wants;
/// the planner does the rest (bridge, route diff, iptables, files). A new backend is one folder.
/// </summary>
public interface IBackend
{
    BackendKind Kind { get; }

    /// <summary>The overlay MTU when the spec gives none.</summary>
    int DefaultMtu(int underlayMtu);

    /// <summary>Operations converging the backend's devices and per-peer entries, and the routes it wants.</summary>
    BackendState Converge(BackendContext context);

    /// <summary>Operations removing every device this backend makes (destroy, or a switch to another backend).</summary>
    IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed);

    /// <summary>Devices whose routes this backend owns (a route via one of them is stale unless wanted).</summary>
    IEnumerable<string> OwnedDevices(ClusterSpec spec);

    /// <summary>Devices whose presence means the backend's state must be read even when another backend is in use.</summary>
    IEnumerable<string> Markers(ClusterSpec spec) => [];
}

/// <summary>Everything a backend may look at; plain values.</summary>
public sealed record BackendContext(ClusterSpec Spec, HostSpec Host, Lease Lease, IReadOnlyList<Peer> Peers, ObservedHost Observed, Underlay Underlay, int Mtu);

/// <summary>
/// A backend's answer: device operations in order, the peer routes it wants, and the devices it
/// (re)creates, whose observed routes vanish with them and so cannot count as present.
/// </summary>
public sealed record BackendState(IReadOnlyList<Operation> Operations, IReadOnlyList<DesiredRoute> Routes, IReadOnlySet<string>? Recreated = null);

/// <summary>A route overlayctl wants: <c>ip route replace DST via VIA dev DEV [onlink] proto 211</c>.</summary>
public sealed record DesiredRoute(Ipv4Cidr Destination, Ipv4Address Via, string Device, bool Onlink);

/// <summary>Every backend overlayctl knows.</summary>
public static class Backends
{
    public static IReadOnlyList<IBackend> All { get; } = [new Vxlan.VxlanBackend(), new Ovs.OvsBackend(), new HostGw.HostGwBackend()];

    public static IBackend For(BackendKind kind) => All.First(b => b.Kind == kind);
}
