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
}
