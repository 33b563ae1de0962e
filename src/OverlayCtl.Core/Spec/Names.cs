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
