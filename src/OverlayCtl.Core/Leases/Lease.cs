using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// One host's subnet, as stored under <c>&lt;prefix&gt;/subnets/&lt;a.b.c.d-n&gt;</c> in flannel's format.
/// <see cref="EtcdLeaseId"/> is 0 for a reservation (no TTL), which is overlayctl's default.
/// </summary>
public sealed record Lease(
    Ipv4Cidr Subnet,
    Ipv4Address PublicIp,
    string BackendType,
    int? Vni,
    MacAddress? VtepMac,
    long EtcdLeaseId = 0,
    long ModRevision = 0);

/// <summary>flannel's <c>&lt;prefix&gt;/config</c>: the network every node agrees on.</summary>
public sealed record NetworkConfig(
    Ipv4Cidr Network,
    int SubnetLen,
    Ipv4Address SubnetMin,
    Ipv4Address SubnetMax,
    string BackendType,
    int? Vni,
    int? Port);

/// <summary>What a host asks for when it wants a lease.</summary>
public sealed record LeaseRequest(
    Ipv4Address PublicIp,
    Ipv4Cidr? PinnedSubnet,
    string BackendType,
    int? Vni,
    MacAddress? VtepMac,
    string HostName);
