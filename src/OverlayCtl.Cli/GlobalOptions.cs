using System.CommandLine;

namespace OverlayCtl.Cli;

/// <summary>Options every command accepts; named as etcdctl names them so operators need not relearn.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Endpoints = new("--endpoints")
    {
        Description = "etcd endpoints, comma-separated (default: the spec's, then $OVERLAYCTL_ENDPOINTS, then $ETCDCTL_ENDPOINTS)",
        Recursive = true,
    };

    public static readonly Option<string?> CaCert = new("--cacert") { Description = "CA bundle to verify etcd's certificate", Recursive = true };

    public static readonly Option<string?> Cert = new("--cert") { Description = "client certificate for etcd (PEM)", Recursive = true };

    public static readonly Option<string?> Key = new("--key") { Description = "client key for etcd (PEM)", Recursive = true };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "output format for data on stdout",
        HelpName = "table|wide|json|yaml",
        DefaultValueFactory = _ => OutputFormat.Table,
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "log at debug level (every command run on a host)", Recursive = true };

    public static readonly Option<LogLevel?> LogLevelOption = new("--log-level")
    {
        Description = "log level on stderr",
        HelpName = "debug|info|warning|error",
        Recursive = true,
    };

    public static readonly Option<string?> LogFile = new("--log-file")
    {
        Description = "also write a full debug log (an audit of every command run per host) to this file",
        Recursive = true,
    };

    public static readonly Option<bool> NoColor = new("--no-color") { Description = "no colours or live progress line (also: NO_COLOR=1)", Recursive = true };

    public static IEnumerable<Option> All => [Endpoints, CaCert, Cert, Key, Output, Verbose, LogLevelOption, LogFile, NoColor];
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
