using System.Net;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// One host's subnet, as stored under <c>&lt;prefix&gt;/subnets/&lt;a.b.c.d-n&gt;</c> in flannel's format.
/// <see cref="EtcdLeaseId"/> is 0 for a reservation (no TTL), which is overlayctl's default.
/// <see cref="Subnet6"/> is the IPv6 half of a dual-stack lease written by flannel
/// (<c>10.244.2.0-24&amp;fd00:10:244:2::-64</c>); overlayctl keeps it so the key is never lost.
/// <see cref="PublicKey"/> and <see cref="Port"/> are the BackendData of flannel's wireguard backend: the
/// key a host made for itself (never its private half) and the UDP port it listens on.
/// A dual-stack lease (<see cref="Subnet6"/> set) names its host's IPv6 underlay address in
/// <see cref="PublicIpv6"/> (flannel's PublicIPv6) and, for vxlan, the MAC of its <c>flannel-v6.VNI</c> device in
/// <see cref="VtepMac6"/> (flannel's BackendV6Data VtepMAC, with the same VNI).
/// </summary>
public sealed record Lease(
    Ipv4Cidr Subnet,
    Ipv4Address PublicIp,
    string BackendType,
    int? Vni,
    MacAddress? VtepMac,
    long EtcdLeaseId = 0,
    long ModRevision = 0,
    IPNetwork? Subnet6 = null,
    string? PublicKey = null,
    int? Port = null,
    IPAddress? PublicIpv6 = null,
    MacAddress? VtepMac6 = null)
{
    /// <summary>This lease carrying what <paramref name="request"/> asks for (its backend's type and data); its subnets and etcd lease stay.</summary>
    public Lease WithData(LeaseRequest request) =>
        this with
        {
            BackendType = request.BackendType, Vni = request.Vni, VtepMac = request.VtepMac, PublicKey = request.PublicKey, Port = request.Port,
            PublicIpv6 = Subnet6 is null ? null : request.PublicIpv6, VtepMac6 = Subnet6 is null ? null : request.VtepMac6,
        };

    /// <summary>Whether this lease already says what <paramref name="request"/> asks for, so taking it again would write nothing.</summary>
    public bool Carries(LeaseRequest request) => WithData(request) == this;
}

/// <summary>
/// A key under <c>&lt;prefix&gt;/subnets/</c> that is not a lease overlayctl can use: a value that is not
/// flannel's JSON, a key it cannot parse, an IPv6-only lease. Never skipped: reported, and its IPv4
/// range (when the key names one) treated as taken.
/// </summary>
public sealed record UnreadableLease(string Key, Ipv4Cidr? Subnet, string Problem)
{
    /// <summary>The IPv6 range the key names (dual-stack or IPv6-only), also treated as taken.</summary>
    public IPNetwork? Subnet6 { get; init; }
}

/// <summary>Everything under the prefix at one etcd revision: the watch of an agent starts after it.</summary>
public sealed record LeaseSnapshot(
    NetworkConfig? Config,
    string? ConfigProblem,
    IReadOnlyList<Lease> Leases,
    IReadOnlyList<UnreadableLease> Unreadable,
    long Revision)
{
    /// <summary>Every IPv4 range no one may be given: held leases and unreadable keys alike.</summary>
    public IEnumerable<Ipv4Cidr> Taken => Leases.Select(l => l.Subnet).Concat(Unreadable.Where(u => u.Subnet is not null).Select(u => u.Subnet!.Value));

    /// <summary>Every IPv6 range no one may be given.</summary>
    public IEnumerable<IPNetwork> Taken6 => Leases.Where(l => l.Subnet6 is not null).Select(l => l.Subnet6!.Value)
        .Concat(Unreadable.Where(u => u.Subnet6 is not null).Select(u => u.Subnet6!.Value));
}

/// <summary>flannel's <c>&lt;prefix&gt;/config</c>: the network every node agrees on.</summary>
public sealed record NetworkConfig(
    Ipv4Cidr Network,
    int SubnetLen,
    Ipv4Address SubnetMin,
    Ipv4Address SubnetMax,
    string BackendType,
    int? Vni,
    int? Port,
    int? ListenPort = null,
    int? PersistentKeepaliveInterval = null)
{
    /// <summary>flannel's EnableIPv6 with IPv6Network, IPv6SubnetLen, IPv6SubnetMin and IPv6SubnetMax; null for IPv4 only.</summary>
    public Ipv6NetworkConfig? Ipv6 { get; init; }

    /// <summary>Whether moving to <paramref name="wanted"/> would leave the leases cut from this config outside it.</summary>
    public bool Strands(NetworkConfig wanted) => Network != wanted.Network || SubnetLen != wanted.SubnetLen;

    /// <summary>
    /// Whether moving to <paramref name="wanted"/> would leave the IPv6 halves of leases outside it. Turning IPv6
    /// on or off strands nothing: apply gives every host its IPv6 subnet, or takes it back.
    /// </summary>
    public bool Strands6(NetworkConfig wanted) =>
        Ipv6 is { } now && wanted.Ipv6 is { } then && (!now.Network.Equals(then.Network) || now.SubnetLen != then.SubnetLen);
}

/// <summary>The IPv6 half of flannel's config: the network, the host subnets' length and the range they are taken from.</summary>
public sealed record Ipv6NetworkConfig(IPNetwork Network, int SubnetLen, IPAddress SubnetMin, IPAddress SubnetMax);

/// <summary>What a host asks for when it wants a lease; <see cref="PublicKey"/> and <see cref="Port"/> as in <see cref="Lease"/>.</summary>
public sealed record LeaseRequest(
    Ipv4Address PublicIp,
    Ipv4Cidr? PinnedSubnet,
    string BackendType,
    int? Vni,
    MacAddress? VtepMac,
    string HostName,
    string? PublicKey = null,
    int? Port = null)
{
    /// <summary>The host's IPv6 underlay address (the lease's PublicIPv6), when the network is dual-stack.</summary>
    public IPAddress? PublicIpv6 { get; init; }

    /// <summary>A pinned IPv6 subnet (<c>subnet6</c>).</summary>
    public IPNetwork? PinnedSubnet6 { get; init; }

    /// <summary>The MAC of the host's IPv6 VXLAN device (BackendV6Data), for vxlan.</summary>
    public MacAddress? VtepMac6 { get; init; }
}
