using System.Globalization;
using System.Text.RegularExpressions;

namespace OverlayCtl.Core.Spec;

/// <summary>
/// The shapes a name may take before it is allowed onto a command line. Checked once, in the
/// spec loader, so nothing downstream needs quoting.
/// </summary>
public static partial class Names
{
    /// <summary>Host names become namespace names, file path parts and device-name stems.</summary>
    public static bool IsHostName(string s) => HostNamePattern().IsMatch(s);

    /// <summary>Linux interface names: 1–15 characters, no '/', whitespace or ':'; not "." or "..".</summary>
    public static bool IsInterfaceName(string s) => s.Length is >= 1 and <= 15 && InterfacePattern().IsMatch(s) && s is not ("." or "..");

    /// <summary>Namespace names end up in /run/netns: one safe path component.</summary>
    public static bool IsNetnsName(string s) => s.Length is >= 1 and <= 64 && NetnsPattern().IsMatch(s) && s is not ("." or "..");

    /// <summary>ssh user and host parts: no leading dash (option injection), no shell metacharacters.</summary>
    public static bool IsSshToken(string s) => s.Length is >= 1 and <= 253 && SshPattern().IsMatch(s);

    /// <summary>
    /// The address a host text means when it is one of the numeric forms <c>inet_aton</c> accepts besides the plain
    /// dotted quad (<c>0777</c>, <c>10.1</c>, <c>0x7f.1</c>, <c>010.0.0.1</c>): ssh resolves such a host to that address
    /// (<c>0777</c> is 0.0.1.255), never to the one a reader sees. Null for a plain dotted quad and for a name.
    /// </summary>
    public static string? NumericShorthand(string host)
    {
        var labels = host.Split('.');
        if (labels.Length > 4) return null;
        var values = new List<ulong>();
        var canonical = labels.Length == 4;
        foreach (var label in labels)
        {
            ulong value;
            if (label.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            {
                if (label.Length > 18 || !label[2..].All(char.IsAsciiHexDigit)) return null;
                value = label.Length == 2 ? 0 : ulong.Parse(label[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                canonical = false;
            }
            else if (label.Length > 0 && label.Length <= 20 && label.All(char.IsAsciiDigit))
            {
                if (label.Length > 1 && label[0] == '0')
                {
                    if (!label.All(c => c is >= '0' and <= '7')) return null;
                    value = label[1..].Aggregate(0UL, (v, c) => (v * 8) + (ulong)(c - '0'));
                    canonical = false;
                }
                else if (!ulong.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out value)) return null;
            }
            else return null;
            values.Add(value);
        }
        // The last part fills what the others leave (a.b: b is 24 bits; a.b.c: c is 16 bits), as inet_aton reads it.
        var lastBits = 8 * (5 - values.Count);
        if (values.Take(values.Count - 1).Any(v => v > 255) || values[^1] >= 1UL << Math.Min(lastBits, 32)) return null;
        if (canonical) return null;
        var address = values[^1];
        for (var i = 0; i < values.Count - 1; i++) address |= values[i] << (24 - (8 * i));
        return string.Join('.', new[] { 24, 16, 8, 0 }.Select(shift => ((address >> shift) & 255).ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>An etcd key prefix: absolute, no trailing slash, printable and unambiguous.</summary>
    public static bool IsEtcdPrefix(string s) => s.Length >= 2 && s[0] == '/' && s[^1] != '/' && EtcdPrefixPattern().IsMatch(s) && !s.Contains("//", StringComparison.Ordinal);

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$")]
    private static partial Regex HostNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex InterfacePattern();

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex NetnsPattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    private static partial Regex SshPattern();

    [GeneratedRegex("^[A-Za-z0-9_./-]+$")]
    private static partial Regex EtcdPrefixPattern();
}
