using System.Globalization;

namespace OverlayCtl.Core.Net;

/// <summary>
/// An IPv4 address as a 32-bit number, so subnet arithmetic is plain integer arithmetic and
/// parsing is strict (dotted quad only: no octal, no shortened forms that reach a command line).
/// </summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public static bool TryParse(string? text, out Ipv4Address address)
    {
        address = default;
        if (string.IsNullOrEmpty(text)) return false;
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        uint value = 0;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit)) return false;
            if (part.Length > 1 && part[0] == '0') return false;
            var octet = uint.Parse(part, CultureInfo.InvariantCulture);
            if (octet > 255) return false;
            value = (value << 8) | octet;
        }
        address = new Ipv4Address(value);
        return true;
    }

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not an IPv4 address (expected a.b.c.d)");

    public Ipv4Address Add(long offset) => new((uint)(Value + offset));

    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    public static bool operator <(Ipv4Address a, Ipv4Address b) => a.Value < b.Value;
    public static bool operator >(Ipv4Address a, Ipv4Address b) => a.Value > b.Value;
    public static bool operator <=(Ipv4Address a, Ipv4Address b) => a.Value <= b.Value;
    public static bool operator >=(Ipv4Address a, Ipv4Address b) => a.Value >= b.Value;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Value >> 24}.{(Value >> 16) & 255}.{(Value >> 8) & 255}.{Value & 255}");
}
