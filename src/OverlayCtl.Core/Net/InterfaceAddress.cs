using System.Globalization;

namespace OverlayCtl.Core.Net;

/// <summary>An address as assigned to an interface (<c>10.244.5.1/24</c>): host bits are the point.</summary>
public readonly record struct InterfaceAddress(Ipv4Address Address, int PrefixLength)
{
    public Ipv4Cidr Network => Ipv4Cidr.Containing(Address, PrefixLength);

    public static bool TryParse(string? text, out InterfaceAddress value)
    {
        value = default;
        if (!Ipv4Cidr.TryParseLoose(text, out var address, out var length)) return false;
        value = new InterfaceAddress(address, length);
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Address}/{PrefixLength}");
}
