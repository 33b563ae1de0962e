using System.Net;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// flannel's defaults for cutting a network into host subnets, so a spec that leaves them out
/// agrees with a flannel node reading the same config key.
/// </summary>
public static class SubnetDefaults
{
    /// <summary>The longest host subnet allowed: a /30 still holds a gateway and one container.</summary>
    public const int MaxSubnetLength = 30;

    /// <summary>24 when the network is /22 or shorter, else two bits longer than the network.</summary>
    public static int SubnetLength(Ipv4Cidr network) => network.PrefixLength <= 22 ? 24 : network.PrefixLength + 2;

    /// <summary>The second subnet of the network: flannel skips the first.</summary>
    public static Ipv4Address SubnetMin(Ipv4Cidr network, int subnetLength) =>
        network.Network.Add(1L << (32 - subnetLength));

    /// <summary>The last subnet of the network.</summary>
    public static Ipv4Address SubnetMax(Ipv4Cidr network, int subnetLength) =>
        new(network.Last.Value & Ipv4Cidr.MaskOf(subnetLength));

    /// <summary>The longest IPv6 host subnet, as flannel's IPv6SubnetLen allows: a /126 still holds a gateway and one container.</summary>
    public const int MaxSubnetLength6 = 126;

    /// <summary>flannel's IPv6SubnetLen default: a /64 per host when the network is a /62 or larger, else two bits longer than it.</summary>
    public static int SubnetLength6(IPNetwork network) => network.PrefixLength <= 62 ? 64 : network.PrefixLength + 2;

    /// <summary>The second IPv6 subnet of the network: flannel skips the first, as for IPv4.</summary>
    public static IPAddress SubnetMin6(IPNetwork network, int subnetLength) =>
        Ipv6.FromNumber(Ipv6.ToNumber(network.BaseAddress) + (UInt128.One << (128 - subnetLength)));

    /// <summary>The last IPv6 subnet of the network.</summary>
    public static IPAddress SubnetMax6(IPNetwork network, int subnetLength) =>
        Ipv6.FromNumber((Ipv6.ToNumber(network.BaseAddress) | ~Ipv6.MaskOf(network.PrefixLength)) & Ipv6.MaskOf(subnetLength));
}
