using System.Globalization;

namespace OverlayCtl.Core.Net;

/// <summary>
/// An IPv4 network: an address aligned to its prefix length. Leases, routes and the overlay
/// itself are all networks, and the alignment invariant is what makes overlap checks exact.
/// </summary>
public readonly record struct Ipv4Cidr : IComparable<Ipv4Cidr>
{
    public Ipv4Cidr(Ipv4Address network, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        if ((network.Value & ~MaskOf(prefixLength)) != 0)
            throw new ArgumentException($"{network}/{prefixLength} has host bits set; the network is {new Ipv4Address(network.Value & MaskOf(prefixLength))}/{prefixLength}", nameof(network));
        Network = network;
        PrefixLength = prefixLength;
    }

    public Ipv4Address Network { get; }
    public int PrefixLength { get; }

    public uint Mask => MaskOf(PrefixLength);
    public ulong Size => 1UL << (32 - PrefixLength);
    public Ipv4Address Last => new(Network.Value | ~Mask);

    /// <summary>The first usable address: Docker's <c>--bip</c> gateway and flannel's FLANNEL_SUBNET.</summary>
    public Ipv4Address Gateway => Network.Add(1);

    public static uint MaskOf(int prefixLength) => prefixLength == 0 ? 0u : uint.MaxValue << (32 - prefixLength);

    /// <summary>Parses <c>a.b.c.d/n</c>. Fails when host bits are set, because a misaligned network in a spec is a typo, not an intent.</summary>
    public static bool TryParse(string? text, out Ipv4Cidr cidr)
    {
        cidr = default;
        if (!TryParseLoose(text, out var address, out var length)) return false;
        if ((address.Value & ~MaskOf(length)) != 0) return false;
        cidr = new Ipv4Cidr(address, length);
        return true;
    }

    /// <summary>Parses <c>a.b.c.d/n</c> allowing host bits (interface addresses such as 10.244.5.1/24).</summary>
    public static bool TryParseLoose(string? text, out Ipv4Address address, out int prefixLength)
    {
        address = default;
        prefixLength = 0;
        if (string.IsNullOrEmpty(text)) return false;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            prefixLength = 32;
            return Ipv4Address.TryParse(text, out address);
        }
        var lengthText = text[(slash + 1)..];
        if (lengthText.Length is 0 or > 2 || !lengthText.All(char.IsAsciiDigit)) return false;
        prefixLength = int.Parse(lengthText, CultureInfo.InvariantCulture);
        return prefixLength <= 32 && Ipv4Address.TryParse(text[..slash], out address);
    }

    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out var cidr) ? cidr : throw new FormatException($"'{text}' is not an aligned IPv4 network (expected a.b.c.d/n with no host bits)");

    /// <summary>The network containing <paramref name="address"/> at <paramref name="prefixLength"/>.</summary>
    public static Ipv4Cidr Containing(Ipv4Address address, int prefixLength) => new(new Ipv4Address(address.Value & MaskOf(prefixLength)), prefixLength);

    public bool Contains(Ipv4Address address) => (address.Value & Mask) == Network.Value;

    public bool Contains(Ipv4Cidr other) => other.PrefixLength >= PrefixLength && Contains(other.Network);

    public bool Overlaps(Ipv4Cidr other) => Contains(other.Network) || other.Contains(Network);

    /// <summary>flannel's lease key form, <c>10.244.5.0-24</c>.</summary>
    public string ToKeyString() => string.Create(CultureInfo.InvariantCulture, $"{Network}-{PrefixLength}");

    public static bool TryParseKeyString(string text, out Ipv4Cidr cidr)
    {
        cidr = default;
        var dash = text.LastIndexOf('-');
        return dash > 0 && TryParse(string.Concat(text.AsSpan(0, dash), "/", text.AsSpan(dash + 1)), out cidr);
    }

    public int CompareTo(Ipv4Cidr other)
    {
        var byNetwork = Network.CompareTo(other.Network);
        return byNetwork != 0 ? byNetwork : PrefixLength.CompareTo(other.PrefixLength);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Network}/{PrefixLength}");
}
