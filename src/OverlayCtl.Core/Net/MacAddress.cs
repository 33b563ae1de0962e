using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OverlayCtl.Core.Net;

/// <summary>
/// A MAC address in canonical lower-case colon form. VTEP MACs are derived, not random, so a
/// lease is complete before its device exists and a recreated device keeps its peers' fdb valid.
/// </summary>
public readonly record struct MacAddress
{
    private MacAddress(string text) => Text = text;

    public string Text { get; }

    public static bool TryParse(string? text, out MacAddress mac)
    {
        mac = default;
        if (text is null || text.Length != 17) return false;
        for (var i = 0; i < 17; i++)
        {
            var c = text[i];
            var ok = i % 3 == 2 ? c == ':' : char.IsAsciiHexDigit(c);
            if (!ok) return false;
        }
        mac = new MacAddress(text.ToLowerInvariant());
        return true;
    }

    public static MacAddress Parse(string text) =>
        TryParse(text, out var mac) ? mac : throw new FormatException($"'{text}' is not a MAC address (expected xx:xx:xx:xx:xx:xx)");

    /// <summary>
    /// The VTEP MAC for a host: locally administered, unicast, a pure function of the overlay
    /// network and the host's underlay address.
    /// </summary>
    public static MacAddress ForVtep(Ipv4Cidr network, Ipv4Address hostAddress)
    {
        var hash = SHA256.HashData(Encoding.ASCII.GetBytes($"overlayctl-vtep:{network}:{hostAddress}"));
        hash[0] = (byte)((hash[0] & 0xfc) | 0x02);
        return new MacAddress(string.Join(':', hash.Take(6).Select(b => b.ToString("x2", CultureInfo.InvariantCulture))));
    }

    /// <summary>
    /// The MAC of a host's IPv6 VXLAN device (<c>flannel-v6.VNI</c>): the same derivation over the IPv6 overlay and
    /// the host's IPv6 underlay address, so it never equals the IPv4 device's and survives a recreated device.
    /// </summary>
    public static MacAddress ForVtep6(System.Net.IPNetwork network, System.Net.IPAddress hostAddress)
    {
        var hash = SHA256.HashData(Encoding.ASCII.GetBytes($"overlayctl-vtep6:{network}:{hostAddress}"));
        hash[0] = (byte)((hash[0] & 0xfc) | 0x02);
        return new MacAddress(string.Join(':', hash.Take(6).Select(b => b.ToString("x2", CultureInfo.InvariantCulture))));
    }

    public override string ToString() => Text;
}
