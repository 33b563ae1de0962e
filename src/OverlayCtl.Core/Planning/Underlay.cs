using System.Net;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Planning;

/// <summary>The host's underlay interface as observed: where tunnels start and what MTU they inherit.</summary>
public sealed record Underlay(string Interface, int Mtu)
{
    public static Underlay Find(HostSpec host, ObservedHost observed)
    {
        var name = host.Interface
            ?? observed.Addresses.FirstOrDefault(a => a.Address.Address == host.Address)?.Device
            ?? throw new PlanningException($"{host.Name}: no interface holds {host.Address}; add the address to the underlay interface, or name it with interface: in the spec");
        var link = observed.FindLink(name)
            ?? throw new PlanningException($"{host.Name}: the underlay interface {name} does not exist; fix interface: in the spec");
        return new Underlay(name, link.Mtu);
    }

    /// <summary>The routes that can reach underlay addresses: everything but the overlay's own subnets.</summary>
    public static IReadOnlyList<RouteInfo> UnderlayRoutes(ObservedHost observed, Ipv4Cidr overlay) =>
        observed.Routes.Where(r => r.Destination is not { } d || !overlay.Contains(d)).ToList();

    /// <summary>
    /// Whether a peer is on-link from this host: the longest matching route to it has no gateway.
    /// Pure longest-prefix match over the observed main table, so no <c>ip route get</c> per peer.
    /// </summary>
    public static bool IsOnLink(IEnumerable<RouteInfo> routes, Ipv4Address peer)
    {
        var best = routes
            .Where(r => r.Destination is null || r.Destination.Value.Contains(peer))
            .OrderByDescending(r => r.Destination?.PrefixLength ?? -1)
            .FirstOrDefault();
        return best is not null && best.Gateway is null && best.Destination is not null;
    }

    /// <summary>The IPv6 routes that can reach underlay addresses: everything but the IPv6 overlay's own subnets.</summary>
    public static IReadOnlyList<Route6Info> UnderlayRoutes6(Ipv6State? v6, IPNetwork? overlay6) =>
        (v6 ?? Ipv6State.Empty).Routes.Where(r => r.Destination is not { } d || overlay6 is not { } o || !Ipv6.Contains(o, d)).ToList();

    /// <summary>
    /// Whether a peer's IPv6 underlay address is on-link: the longest matching IPv6 route has no gateway. flannel asks the
    /// kernel the same question for both families (a route lookup to the peer without a gateway); this answers it from the
    /// observed main table, as <see cref="IsOnLink(IEnumerable{RouteInfo}, Ipv4Address)"/> does for IPv4.
    /// </summary>
    public static bool IsOnLink(IEnumerable<Route6Info> routes, IPAddress peer)
    {
        var best = routes
            .Where(r => r.Destination is null || r.Destination.Value.Contains(peer))
            .OrderByDescending(r => r.Destination?.PrefixLength ?? -1)
            .FirstOrDefault();
        return best is not null && best.Gateway is null && best.Destination is not null;
    }
}
