using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Backends.HostGw;

/// <summary>
/// Direct routes: each peer's subnet via the peer's underlay address. No encapsulation, full MTU,
/// but every peer must be on-link; the planner refuses, naming the peer, rather than half-apply.
/// No device, no settings, no lease data (flannel's host-gw writes none either).
/// </summary>
public sealed class HostGwBackend : IBackend
{
    public string Name => "host-gw";

    public string LeaseType => "host-gw";

    public IReadOnlyList<string> NetworkKeys => [];

    public bool SupportsIpv6 => true;

    public int Overhead => 0;

    public IReadOnlyList<DoctorCheck> Checks => [];

    public BackendSettings? ReadSpec(BackendSpecContext context) => null;

    public string? Device(ClusterSpec spec) => null;

    public LeaseData LeaseData(ClusterSpec spec, HostSpec host, ObservedHost? observed) => Backends.LeaseData.None;

    public IReadOnlyList<HostRead> LeaseReads(ClusterSpec spec, HostSpec host) => [];

    public IEnumerable<Operation> PrepareLease(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public IEnumerable<Operation> RotateKeys(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public ConfigData ConfigData(ClusterSpec spec) => Backends.ConfigData.None;

    public IEnumerable<HostRead> Reads(ClusterSpec spec, HostSpec host, bool selected) => [];

    public IEnumerable<string> OwnedDevices(ClusterSpec spec, ObservedHost observed) => [];

    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public IEnumerable<Finding> Check(DoctorContext context) => [];

    public BackendStatus Status(ClusterSpec spec, Lease lease, ObservedHost observed, HostPlan plan) =>
        new(null, null, BackendStatus.Wanting(plan, ResourceKind.Route));

    public BackendState Converge(BackendContext c)
    {
        var underlayRoutes = Underlay.UnderlayRoutes(c.Observed, c.Spec.Network.Cidr);
        var offLink = c.Peers.Where(p => !Underlay.IsOnLink(underlayRoutes, p.Lease.PublicIp)).ToList();
        if (offLink.Count > 0)
            throw new PlanningException(
                $"{c.Host.Name}: host-gw needs every peer on the same link, but " +
                string.Join(", ", offLink.Select(p => $"{p.HostName ?? "?"} ({p.Lease.PublicIp})")) +
                $" is reached through a gateway from {c.Underlay.Interface}; use backend: vxlan (with directRouting: true for the on-link peers)");
        var routes = c.Peers.OrderBy(p => p.Lease.Subnet)
            .Select(p => new DesiredRoute(p.Lease.Subnet, p.Lease.PublicIp, c.Underlay.Interface, Onlink: false))
            .ToList();
        // Dual-stack: each peer's IPv6 subnet via its IPv6 underlay address (the lease's PublicIPv6), on the same link.
        var peers6 = c.Spec.Network.Ipv6 is not { } network6 || c.Lease.Subnet6 is null ? []
            : c.Peers.Where(p => p.Lease.Subnet6 is not null && p.Lease.PublicIpv6 is not null).OrderBy(p => p.Lease.Subnet).ToList();
        if (c.Observed.Ipv6 is { } v6 && peers6.Count > 0)
        {
            var underlay6 = Underlay.UnderlayRoutes6(v6, c.Spec.Network.Ipv6!.Cidr);
            var offLink6 = peers6.Where(p => !Underlay.IsOnLink(underlay6, p.Lease.PublicIpv6!)).ToList();
            if (offLink6.Count > 0)
                throw new PlanningException(
                    $"{c.Host.Name}: host-gw needs every peer on the same link, but " +
                    string.Join(", ", offLink6.Select(p => $"{p.HostName ?? "?"} ({p.Lease.PublicIpv6})")) +
                    " is reached over IPv6 through a gateway (or by no IPv6 route at all); use backend: vxlan (with directRouting: true for the on-link peers)");
        }
        var routes6 = peers6.Select(p => new DesiredRoute6(p.Lease.Subnet6!.Value, p.Lease.PublicIpv6!, c.Underlay.Interface, Onlink: false)).ToList();
        return new BackendState([], routes) { Routes6 = routes6 };
    }
}
