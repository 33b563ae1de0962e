using System.CommandLine;
using System.Globalization;
using OverlayCtl.Core;
using OverlayCtl.Core.Files;
using OverlayCtl.Core.Spec;
using OverlayCtl.Etcd;

namespace OverlayCtl.Cli;

/// <summary>
/// Resolves how to reach etcd from the flags, the environment and the spec, as etcdctl does, and
/// refuses what cannot be meant: credentials inside an endpoint URL (they would be logged), a path on
/// an endpoint, a user without a password, a duration etcdctl would not accept.
/// Every setting: the flag, else <c>$OVERLAYCTL_*</c>, else etcdctl's <c>$ETCDCTL_*</c>, else the spec (endpoints and TLS
/// paths; it never holds credentials or timeouts), else the default. The environment outranks the spec because it is
/// what the operator set for this shell, as etcdctl and kubectl read it: a spec's endpoints that always won would
/// make <c>ETCDCTL_ENDPOINTS</c> silently ignored whenever <c>-f</c> is given (docs/spec.md, "etcd settings").
/// </summary>
internal static class EtcdSettings
{
    public static readonly TimeSpan DefaultDialTimeout = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    private const string CredentialsFix = "put the user in --user USER or $OVERLAYCTL_USER, the password in $OVERLAYCTL_PASSWORD";

    public static EtcdClientOptions Resolve(ParseResult parse, ClusterSpec? spec, Func<string, string?> environment)
    {
        var endpoints = Endpoints(parse, spec, environment);
        var tls = Tls(parse, spec?.Etcd.Tls, environment);
        var (user, password) = Credentials(parse, environment);
        return new EtcdClientOptions(endpoints, tls, user, password)
        {
            DialTimeout = Timeout(parse.GetValue(GlobalOptions.DialTimeout), "--dial-timeout", environment, "DIAL_TIMEOUT", DefaultDialTimeout),
            CommandTimeout = Timeout(parse.GetValue(GlobalOptions.CommandTimeout), "--command-timeout", environment, "COMMAND_TIMEOUT", DefaultCommandTimeout),
        };
    }

    private static IReadOnlyList<Uri> Endpoints(ParseResult parse, ClusterSpec? spec, Func<string, string?> environment)
    {
        if (parse.GetValue(GlobalOptions.Endpoints) is { } flag) return ParseEndpoints(flag, "--endpoints");
        if (FromEnvironment(environment, "ENDPOINTS") is ({ } value, var source)) return ParseEndpoints(value, source);
        if (spec is not null) return spec.Etcd.Endpoints;
        return [new Uri("http://127.0.0.1:2379")];
    }

    private static List<Uri> ParseEndpoints(string text, string source)
    {
        var list = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var withScheme = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
                throw new InputException($"{source}: '{Redact(part)}' is not an etcd endpoint (fix: write http://HOST:PORT or https://HOST:PORT)");
            var bare = $"{uri.Scheme}://{uri.Authority}";
            if (uri.UserInfo.Length > 0)
                throw new InputException($"{source}: the endpoint {bare} carries credentials, which overlayctl never reads from a URL (they would end up in logs and error messages) (fix: write {bare}; {CredentialsFix})");
            if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0)
                throw new InputException($"{source}: the endpoint {bare}{uri.PathAndQuery} has a path; an etcd endpoint is only a scheme, host and port (fix: write {bare})");
            list.Add(uri);
        }
        if (list.Count == 0) throw new InputException($"{source} names no endpoint (fix: write http://HOST:PORT, several comma-separated)");
        return list;
    }

    /// <summary>What an unparsable endpoint looked like, minus anything between "//" and "@" (it may be a password).</summary>
    private static string Redact(string part)
    {
        var at = part.LastIndexOf('@');
        if (at < 0) return part;
        var start = part.IndexOf("//", StringComparison.Ordinal) is var s and >= 0 && s < at ? s + 2 : 0;
        return part[..start] + "***" + part[at..];
    }

    private static TlsSpec? Tls(ParseResult parse, TlsSpec? spec, Func<string, string?> environment)
    {
        var (ca, caSource) = Pick(parse.GetValue(GlobalOptions.CaCert), "--cacert", environment, "CACERT", spec?.Ca, spec?.CaSource ?? "etcd.tls.ca");
        var (cert, certSource) = Pick(parse.GetValue(GlobalOptions.Cert), "--cert", environment, "CERT", spec?.Cert, spec?.CertSource ?? "etcd.tls.cert");
        var (key, keySource) = Pick(parse.GetValue(GlobalOptions.Key), "--key", environment, "KEY", spec?.Key, spec?.KeySource ?? "etcd.tls.key");
        if (ca is null && cert is null && key is null) return null;
        return new TlsSpec(ca, cert, key) { CaSource = caSource, CertSource = certSource, KeySource = keySource };
    }

    private static (string? Value, string Source) Pick(string? flag, string flagName, Func<string, string?> environment, string setting, string? spec, string specSource) =>
        flag is not null ? (flag, flagName)
        : FromEnvironment(environment, setting) is ({ } value, var source) ? (value, source)
        : (spec, specSource);

    /// <summary>The prefixes read for a setting, in order: overlayctl's own, then etcdctl's (so an etcdctl shell works unchanged).</summary>
    public static readonly string[] EnvironmentPrefixes = ["OVERLAYCTL_", "ETCDCTL_"];

    /// <summary><c>$OVERLAYCTL_SETTING</c>, else <c>$ETCDCTL_SETTING</c>, with the variable's name for messages; an empty variable counts as unset.</summary>
    private static (string? Value, string Source) FromEnvironment(Func<string, string?> environment, string setting)
    {
        foreach (var prefix in EnvironmentPrefixes)
            if (environment(prefix + setting) is { Length: > 0 } value) return (value, "$" + prefix + setting);
        return (null, "");
    }

    /// <summary>
    /// etcdctl's <c>--user USER[:PASSWORD]</c>; a password not given there comes from <c>--password-file</c>, else the
    /// environment. The file holds the password alone (its first line), so a password with a colon needs no escaping;
    /// it is how an installed agent gets its password without it appearing in <c>ps</c> or <c>systemctl show</c>.
    /// </summary>
    private static (string? User, string? Password) Credentials(ParseResult parse, Func<string, string?> environment)
    {
        var (text, source) = parse.GetValue(GlobalOptions.User) is { } flag ? (flag, "--user")
            : FromEnvironment(environment, "USER");
        if (text is null)
            return parse.GetValue(GlobalOptions.PasswordFile) is { } orphan
                ? throw new InputException($"--password-file {orphan} is given but no etcd user (fix: add --user USER, or set $OVERLAYCTL_USER)")
                : (null, null);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var user = colon < 0 ? text : text[..colon];
        var file = parse.GetValue(GlobalOptions.PasswordFile);
        if (file is not null && colon >= 0)
            throw new InputException($"{source} carries a password and --password-file names another (fix: give the password one way: {source} {text[..colon]} --password-file {file})");
        var password = file is not null ? PasswordFrom(file)
            : colon < 0 ? FromEnvironment(environment, "PASSWORD").Value : text[(colon + 1)..];
        if (user.Length == 0)
            throw new InputException($"{source} names no user (fix: write {source} USER, with the password in $OVERLAYCTL_PASSWORD)");
        if (password is null)
            throw new InputException($"{source} names the etcd user '{user}' but no password is given (fix: set $OVERLAYCTL_PASSWORD (or $ETCDCTL_PASSWORD), or write {source} {user}:PASSWORD)");
        return (user, password);
    }

    /// <summary>The first line of the file, read as every local input is (a regular file of at most 1 MiB); never echoed.</summary>
    private static string PasswordFrom(string path)
    {
        if (!RegularFile.TryReadText(path, out var text, out var problem))
            throw new InputException($"--password-file {path}: {problem} (fix: name a regular file holding the etcd password on its first line, readable by this user only, e.g. chmod 600)");
        var line = text.Split('\n', 2)[0].TrimEnd('\r');
        return line.Length > 0 ? line
            : throw new InputException($"--password-file {path}: its first line is empty (fix: write the etcd password on the file's first line)");
    }

    private static TimeSpan Timeout(string? flag, string flagName, Func<string, string?> environment, string setting, TimeSpan fallback)
    {
        var (text, source) = flag is not null ? (flag, flagName) : FromEnvironment(environment, setting);
        if (text is null) return fallback;
        return GoDuration.Parse(text)
            ?? throw new InputException($"{source} '{text}' is not a duration (fix: write a positive duration as etcdctl does, e.g. 2s, 500ms, 1m or 1m30s)");
    }
}
