using System.Net;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// Subnet arithmetic for leases: which subnets a network offers, which are free, which one to take.
/// Linear in the number of leases (a hash set of taken networks), so 4,096 hosts cost nothing.
/// </summary>
public static class Ipam
{
    /// <summary>flannel picks at random among this many free subnets, so concurrent allocators rarely collide.</summary>
    public const int RandomWindow = 100;

    /// <summary>Every subnet between SubnetMin and SubnetMax, in order.</summary>
    public static IEnumerable<Ipv4Cidr> Candidates(NetworkConfig config)
    {
        var step = 1UL << (32 - config.SubnetLen);
        for (ulong v = config.SubnetMin.Value; v <= config.SubnetMax.Value; v += step)
            yield return new Ipv4Cidr(new Ipv4Address((uint)v), config.SubnetLen);
    }

    public static long CandidateCount(NetworkConfig config) =>
        config.SubnetMax < config.SubnetMin ? 0 : (long)((config.SubnetMax.Value - config.SubnetMin.Value) >> (32 - config.SubnetLen)) + 1;

    /// <summary>Free subnets in order: those overlapping no taken subnet (taken ones of other sizes included).</summary>
    public static IEnumerable<Ipv4Cidr> Free(NetworkConfig config, IEnumerable<Ipv4Cidr> taken)
    {
        var sameSize = new HashSet<uint>();
        var otherSizes = new List<Ipv4Cidr>();
        foreach (var t in taken)
        {
            if (t.PrefixLength == config.SubnetLen) sameSize.Add(t.Network.Value);
            else otherSizes.Add(t);
        }
        return Candidates(config).Where(c => !sameSize.Contains(c.Network.Value) && !otherSizes.Any(o => o.Overlaps(c)));
    }

    /// <summary>The lowest free subnet: what <c>plan</c> shows for a host that has no lease yet.</summary>
    public static Ipv4Cidr FirstFree(NetworkConfig config, IEnumerable<Ipv4Cidr> taken)
    {
        var list = taken as IReadOnlyCollection<Ipv4Cidr> ?? taken.ToList();
        return First(Free(config, list), () => Exhausted(config, list.Count));
    }

    /// <summary>A free subnet chosen at random among the first <see cref="RandomWindow"/> free ones, as flannel does.</summary>
    public static Ipv4Cidr PickFree(NetworkConfig config, IEnumerable<Ipv4Cidr> taken, Random random)
    {
        var list = taken as IReadOnlyCollection<Ipv4Cidr> ?? taken.ToList();
        return Pick(Free(config, list), random, () => Exhausted(config, list.Count));
    }

    /// <summary>Whether a pinned subnet is usable in this network: right size, aligned, inside [SubnetMin, SubnetMax].</summary>
    public static string? CheckPin(NetworkConfig config, Ipv4Cidr pin) =>
        pin.PrefixLength != config.SubnetLen ? $"{pin} is not a /{config.SubnetLen}"
        : pin.Network < config.SubnetMin || pin.Network > config.SubnetMax ? $"{pin} is outside the lease range {config.SubnetMin}-{config.SubnetMax}"
        : null;

    /// <summary>Every IPv6 subnet between IPv6SubnetMin and IPv6SubnetMax, in order (lazily: a /48 holds 65,536 /64s).</summary>
    public static IEnumerable<IPNetwork> Candidates(Ipv6NetworkConfig config)
    {
        var step = UInt128.One << (128 - config.SubnetLen);
        var last = Ipv6.ToNumber(config.SubnetMax);
        for (var v = Ipv6.ToNumber(config.SubnetMin); v <= last; v += step)
        {
            yield return new IPNetwork(Ipv6.FromNumber(v), config.SubnetLen);
            if (last - v < step) yield break;
        }
    }

    /// <summary>Free IPv6 subnets in order: those overlapping no taken one.</summary>
    public static IEnumerable<IPNetwork> Free(Ipv6NetworkConfig config, IEnumerable<IPNetwork> taken)
    {
        var sameSize = new HashSet<UInt128>();
        var otherSizes = new List<IPNetwork>();
        foreach (var t in taken)
        {
            if (t.PrefixLength == config.SubnetLen) sameSize.Add(Ipv6.ToNumber(t.BaseAddress));
            else otherSizes.Add(t);
        }
        return Candidates(config).Where(c => !sameSize.Contains(Ipv6.ToNumber(c.BaseAddress)) && !otherSizes.Any(o => Ipv6.Overlaps(o, c)));
    }

    /// <summary>The lowest free IPv6 subnet: what <c>plan</c> predicts.</summary>
    public static IPNetwork FirstFree(Ipv6NetworkConfig config, IEnumerable<IPNetwork> taken)
    {
        var list = taken as IReadOnlyCollection<IPNetwork> ?? taken.ToList();
        return First(Free(config, list), () => Exhausted(config, list.Count));
    }

    /// <summary>A free IPv6 subnet at random among the first <see cref="RandomWindow"/>, after a lost race.</summary>
    public static IPNetwork PickFree(Ipv6NetworkConfig config, IEnumerable<IPNetwork> taken, Random random)
    {
        var list = taken as IReadOnlyCollection<IPNetwork> ?? taken.ToList();
        return Pick(Free(config, list), random, () => Exhausted(config, list.Count));
    }

    /// <summary>The first free subnet, of either family.</summary>
    private static T First<T>(IEnumerable<T> free, Func<LeaseException> exhausted)
    {
        foreach (var c in free) return c;
        throw exhausted();
    }

    /// <summary>One of the first <see cref="RandomWindow"/> free subnets at random, of either family.</summary>
    private static T Pick<T>(IEnumerable<T> free, Random random, Func<LeaseException> exhausted)
    {
        var window = free.Take(RandomWindow).ToList();
        return window.Count == 0 ? throw exhausted() : window[random.Next(window.Count)];
    }

    /// <summary>Whether a pinned IPv6 subnet is usable: right size, inside [IPv6SubnetMin, IPv6SubnetMax].</summary>
    public static string? CheckPin(Ipv6NetworkConfig config, IPNetwork pin)
    {
        var n = Ipv6.ToNumber(pin.BaseAddress);
        return pin.PrefixLength != config.SubnetLen ? $"{pin} is not a /{config.SubnetLen}"
            : n < Ipv6.ToNumber(config.SubnetMin) || n > Ipv6.ToNumber(config.SubnetMax) ? $"{pin} is outside the IPv6 lease range {config.SubnetMin}-{config.SubnetMax}"
            : null;
    }

    private static LeaseException Exhausted(Ipv6NetworkConfig config, int held) =>
        new($"no free IPv6 /{config.SubnetLen} left in {config.SubnetMin}-{config.SubnetMax} ({held} IPv6 subnets held); widen network.ipv6.cidr or its subnetMin/subnetMax, or release stale leases (overlayctl leases gc)");

    private static LeaseException Exhausted(NetworkConfig config, int held) =>
        new($"no free /{config.SubnetLen} left in {config.SubnetMin}-{config.SubnetMax} ({held} leases held, {CandidateCount(config)} subnets in the range); widen network.cidr or subnetMin/subnetMax, or release stale leases (overlayctl leases gc)");
}
