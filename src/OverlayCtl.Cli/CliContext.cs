using System.CommandLine;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Spec;
using OverlayCtl.Etcd;
using OverlayCtl.Cli.Engine;
using OverlayCtl.Hosts.Connections;
using Serilog;
using Serilog.Events;

namespace OverlayCtl.Cli;

/// <summary>
/// What a command needs from the command line: the logger, the output writer and, on demand, the
/// spec and the etcd settings. Built once per invocation; the edges are created here and nowhere else.
/// </summary>
internal sealed class CliContext : IDisposable
{
    private readonly Serilog.Core.Logger _logger;
    private readonly List<IDisposable> _disposables = [];
    private readonly TextWriter _stdout;
    private ProcessRunner? _processes;

    public CliContext(ParseResult parse, TextWriter stdout, TextWriter stderr)
    {
        Parse = parse;
        Out = new OutputWriter(stdout, parse.GetValue(GlobalOptions.Output));
        _stdout = stdout;
        Stderr = stderr;
        var level = parse.GetValue(GlobalOptions.LogLevelOption) switch
        {
            LogLevel.Debug => LogEventLevel.Debug,
            LogLevel.Warning => LogEventLevel.Warning,
            LogLevel.Error => LogEventLevel.Error,
            LogLevel.Info => LogEventLevel.Information,
            _ => parse.GetValue(GlobalOptions.Verbose) ? LogEventLevel.Debug : LogEventLevel.Information,
        };
        var config = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .WriteTo.Sink(new TextWriterSink(stderr, "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}"), level);
        var logFile = parse.GetValue(GlobalOptions.LogFile);
        if (logFile is not null)
            config = config.WriteTo.File(logFile, outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} {Level:u3} {Message:lj}{NewLine}{Exception}");
        _logger = config.CreateLogger();
    }

    public ParseResult Parse { get; }

    public OutputWriter Out { get; }

    public TextWriter Stderr { get; }

    public ILogger Log => _logger;

    /// <summary>Loads and validates the spec named by <paramref name="option"/>; errors surface as <see cref="SpecException"/>.</summary>
    public ClusterSpec LoadSpec(Option<string> option) => SpecLoader.Load(Parse.GetRequiredValue(option));

    /// <summary>
    /// etcd settings: --endpoints, else the spec's, else $OVERLAYCTL_ENDPOINTS, else $ETCDCTL_ENDPOINTS;
    /// TLS from --cacert/--cert/--key over the spec's; credentials only from the environment.
    /// </summary>
    public EtcdClientOptions EtcdOptions(ClusterSpec? spec)
    {
        var flag = Parse.GetValue(GlobalOptions.Endpoints);
        var env = Environment.GetEnvironmentVariable("OVERLAYCTL_ENDPOINTS") ?? Environment.GetEnvironmentVariable("ETCDCTL_ENDPOINTS");
        var endpoints = flag is not null ? ParseEndpoints(flag, "--endpoints")
            : spec is not null ? spec.Etcd.Endpoints
            : env is not null ? ParseEndpoints(env, "$OVERLAYCTL_ENDPOINTS/$ETCDCTL_ENDPOINTS")
            : [new Uri("http://127.0.0.1:2379")];
        var tls = spec?.Etcd.Tls;
        var (ca, cert, key) = (Parse.GetValue(GlobalOptions.CaCert), Parse.GetValue(GlobalOptions.Cert), Parse.GetValue(GlobalOptions.Key));
        if (ca is not null || cert is not null || key is not null)
            tls = new TlsSpec(ca ?? tls?.Ca, cert ?? tls?.Cert, key ?? tls?.Key);
        return new EtcdClientOptions(endpoints, tls, Environment.GetEnvironmentVariable("OVERLAYCTL_USER"), Environment.GetEnvironmentVariable("OVERLAYCTL_PASSWORD"));
    }

    /// <summary>The lease store for a spec, or for a bare --endpoints/--prefix when there is none.</summary>
    public EtcdLeaseStore OpenLeaseStore(ClusterSpec? spec, string? prefix = null)
    {
        var client = new EtcdGrpcClient(EtcdOptions(spec));
        _disposables.Add(client);
        return new EtcdLeaseStore(client, prefix ?? spec?.Etcd.Prefix ?? EtcdSpec.DefaultPrefix);
    }

    /// <summary>Every process overlayctl starts on any host goes through this one runner (and its counter).</summary>
    public ProcessRunner Processes => _processes ??= new ProcessRunner(_logger, TimeSpan.FromSeconds(60));

    public ClusterDriver Driver(ClusterSpec spec, EtcdLeaseStore store, int parallel = 10) =>
        new(spec, store, host => HostRunnerFactory.Create(host, Processes), _logger, parallel,
            new Progress(Stderr, ReferenceEquals(Stderr, Console.Error) && !Console.IsErrorRedirected && !NoColor));

    /// <summary>Colours on stdout only for a terminal, never for a pipe or a file.</summary>
    public bool Color => !NoColor && ReferenceEquals(_stdout, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>--no-color, or the NO_COLOR convention: no escape sequences at all.</summary>
    public bool NoColor => Parse.GetValue(GlobalOptions.NoColor) || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 };

    private static List<Uri> ParseEndpoints(string text, string source)
    {
        var list = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var withScheme = part.Contains("://", StringComparison.Ordinal) ? part : "http://" + part;
            if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new UsageException($"{source}: '{part}' is not an etcd endpoint (write http://HOST:PORT)");
            list.Add(uri);
        }
        if (list.Count == 0) throw new UsageException($"{source} names no endpoint");
        return list;
    }

    public void Dispose()
    {
        foreach (var d in _disposables) d.Dispose();
        _logger.Dispose();
    }
}
