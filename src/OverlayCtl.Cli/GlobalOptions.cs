using System.CommandLine;

namespace OverlayCtl.Cli;

/// <summary>
/// Options every command accepts; named as etcdctl names them so operators need not relearn. Each etcd setting is the
/// flag, else $OVERLAYCTL_*, else $ETCDCTL_*, else the spec (<see cref="EtcdSettings"/>); the descriptions say so.
/// </summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Endpoints = new("--endpoints")
    {
        Description = "etcd endpoints, comma-separated (default: $OVERLAYCTL_ENDPOINTS, then $ETCDCTL_ENDPOINTS, then the spec's etcd.endpoints, else http://127.0.0.1:2379)",
        Recursive = true,
    };

    public static readonly Option<string?> CaCert = new("--cacert")
    {
        Description = "CA bundle (PEM) to verify etcd's certificate (default: $OVERLAYCTL_CACERT, then $ETCDCTL_CACERT, then the spec's etcd.tls.ca)",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> Cert = new("--cert")
    {
        Description = "client certificate (PEM) for etcd, with --key (default: $OVERLAYCTL_CERT, then $ETCDCTL_CERT, then the spec's etcd.tls.cert)",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> Key = new("--key")
    {
        Description = "client key (PEM) for etcd, with --cert (default: $OVERLAYCTL_KEY, then $ETCDCTL_KEY, then the spec's etcd.tls.key)",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> User = new("--user")
    {
        Description = "etcd user; without :PASSWORD the password comes from $OVERLAYCTL_PASSWORD, then $ETCDCTL_PASSWORD (default: $OVERLAYCTL_USER, then $ETCDCTL_USER)",
        HelpName = "USER[:PASSWORD]",
        Recursive = true,
    };

    public static readonly Option<string?> PasswordFile = new("--password-file")
    {
        Description = "read the etcd user's password from this file (its first line; the user from --user), e.g. an agent's /etc/overlayctl/CLUSTER/password",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> DialTimeout = new("--dial-timeout")
    {
        Description = "time to connect to one etcd endpoint, e.g. 2s, 500ms (default: $OVERLAYCTL_DIAL_TIMEOUT, then $ETCDCTL_DIAL_TIMEOUT, else 2s)",
        HelpName = "DURATION",
        Recursive = true,
    };

    public static readonly Option<string?> CommandTimeout = new("--command-timeout")
    {
        Description = "time for one etcd request, e.g. 5s, 1m (default: $OVERLAYCTL_COMMAND_TIMEOUT, then $ETCDCTL_COMMAND_TIMEOUT, else 5s)",
        HelpName = "DURATION",
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "output format for data on stdout",
        HelpName = "table|wide|json|yaml",
        DefaultValueFactory = _ => OutputFormat.Table,
        CustomParser = r => Choice(r, "-o", "an output format", OutputFormat.Table),
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "log at debug level (every command run on a host)", Recursive = true };

    public static readonly Option<LogLevel?> LogLevelOption = new("--log-level")
    {
        Description = "log level on stderr",
        HelpName = "debug|info|warning|error",
        CustomParser = r => (LogLevel?)Choice(r, "--log-level", "a log level", LogLevel.Info),
        Recursive = true,
    };

    public static readonly Option<string?> LogFile = new("--log-file")
    {
        Description = "also write a full debug log (an audit of every command run per host) to this file; its directory must exist",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<bool> NoColor = new("--no-color") { Description = "no colours or live progress line (also: NO_COLOR=1)", Recursive = true };

    /// <summary>
    /// An enum option's value by its lowercase name, as the help spells the choices; anything else is one
    /// line listing them (the parser's own error names the .NET type and suggests capitalised names).
    /// </summary>
    private static T Choice<T>(System.CommandLine.Parsing.ArgumentResult result, string flag, string what, T fallback) where T : struct, Enum
    {
        if (result.Tokens.Count == 0) return fallback;
        var text = result.Tokens[0].Value;
        var names = Enum.GetValues<T>().Select(v => v.ToString().ToLowerInvariant()).ToList();
        var index = names.IndexOf(text.ToLowerInvariant());
        if (index >= 0) return Enum.GetValues<T>()[index];
        result.AddError($"{flag} {text}: not {what} (fix: use one of {string.Join(", ", names)})");
        return fallback;
    }

    public static IEnumerable<Option> All => [Endpoints, CaCert, Cert, Key, User, PasswordFile, DialTimeout, CommandTimeout, Output, Verbose, LogLevelOption, LogFile, NoColor];
}

/// <summary>How data is printed on stdout.</summary>
internal enum OutputFormat
{
    Table,
    Wide,
    Json,
    Yaml,
}

/// <summary>Log levels offered on the command line.</summary>
internal enum LogLevel
{
    Debug,
    Info,
    Warning,
    Error,
}
