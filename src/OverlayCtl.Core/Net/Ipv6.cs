using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OverlayCtl.Core.Net;

/// <summary>
/// IPv6 addresses and networks as the BCL's <see cref="IPAddress"/> and <see cref="IPNetwork"/> (which already
/// refuses a network with host bits set), with the arithmetic leases need: a /64 is one step of a 128-bit number.
/// </summary>
public static class Ipv6
{
    /// <summary>The address as a 128-bit number, so subnets can be counted and stepped through.</summary>
    public static UInt128 ToNumber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || !address.TryWriteBytes(bytes, out _))
            throw new ArgumentException($"{address} is not an IPv6 address", nameof(address));
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static IPAddress FromNumber(UInt128 value)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, value);
        return new IPAddress(bytes);
    }

    public static UInt128 MaskOf(int prefixLength) => prefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - prefixLength);

    /// <summary>One IPv6 address, written plainly: no zone (<c>%eth0</c>), no IPv4 form.</summary>
    public static bool TryParseAddress(string? text, out IPAddress address)
    {
        address = IPAddress.IPv6None;
        if (string.IsNullOrEmpty(text) || !text.Contains(':', StringComparison.Ordinal) || text.Contains('%', StringComparison.Ordinal)) return false;
        if (!IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6) return false;
        address = parsed;
        return true;
    }

    /// <summary>Parses <c>addr/n</c> allowing host bits (an interface address).</summary>
    public static bool TryParseLoose(string? text, out IPAddress address, out int prefixLength)
    {
        address = IPAddress.IPv6None;
        prefixLength = 128;
        if (string.IsNullOrEmpty(text)) return false;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return TryParseAddress(text, out address);
        var lengthText = text[(slash + 1)..];
        if (lengthText.Length is 0 or > 3 || !lengthText.All(char.IsAsciiDigit)) return false;
        prefixLength = int.Parse(lengthText, CultureInfo.InvariantCulture);
        return prefixLength <= 128 && TryParseAddress(text[..slash], out address);
    }

    /// <summary>Parses an aligned <c>addr/n</c>: a network with host bits set in a spec is a typo, not an intent.</summary>
    public static bool TryParse(string? text, out IPNetwork network)
    {
        network = default;
        if (!TryParseLoose(text, out var address, out var length) || !Containing(address, length).BaseAddress.Equals(address)) return false;
        network = new IPNetwork(address, length);
        return true;
    }

    public static IPNetwork Parse(string text) =>
        TryParse(text, out var network) ? network : throw new FormatException($"'{text}' is not an aligned IPv6 network");

    /// <summary>The network containing <paramref name="address"/> at <paramref name="prefixLength"/>.</summary>
    public static IPNetwork Containing(IPAddress address, int prefixLength) => new(FromNumber(ToNumber(address) & MaskOf(prefixLength)), prefixLength);

    public static bool Overlaps(IPNetwork a, IPNetwork b) => a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);

    /// <summary>Whether <paramref name="inner"/> lies wholly inside <paramref name="outer"/>.</summary>
    public static bool Contains(IPNetwork outer, IPNetwork inner) => inner.PrefixLength >= outer.PrefixLength && outer.Contains(inner.BaseAddress);

    /// <summary>The first address after the network's own: Docker's bridge address and flannel's FLANNEL_IPV6_SUBNET.</summary>
    public static IPAddress Gateway(IPNetwork network) => FromNumber(ToNumber(network.BaseAddress) + 1);

    /// <summary><c>fd00:10:244:2::1/64</c>: the gateway with the network's length.</summary>
    public static string GatewayWithLength(IPNetwork network) => string.Create(CultureInfo.InvariantCulture, $"{Gateway(network)}/{network.PrefixLength}");

    /// <summary>flannel's key form of an IPv6 network, <c>fd00:10:244:2::-64</c>.</summary>
    public static string ToKeyString(IPNetwork network) => string.Create(CultureInfo.InvariantCulture, $"{network.BaseAddress}-{network.PrefixLength}");

    /// <summary>Orders networks by address then length, as leases are listed.</summary>
    public static int Compare(IPNetwork a, IPNetwork b)
    {
        var byAddress = ToNumber(a.BaseAddress).CompareTo(ToNumber(b.BaseAddress));
        return byAddress != 0 ? byAddress : a.PrefixLength.CompareTo(b.PrefixLength);
    }
}
