using System.CommandLine;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core;
using OverlayCtl.Core.Spec;
using OverlayCtl.Etcd;
using OverlayCtl.Core.Leases;
using OverlayCtl.Engine;
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
    private readonly Serilog.Core.Logger? _fileLogger;
    private readonly StreamWriter? _logFile;
    private readonly List<IDisposable> _disposables = [];
    private readonly TextWriter _stdout;
    private ProcessRunner? _processes;

    public CliContext(ParseResult parse, TextWriter stdout, TextWriter stderr, Terminal terminal)
    {
        Parse = parse;
        Terminal = terminal;
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
        // Each log line names its command ("12:00:01 apply INF ..."): in a terminal's scrollback or a shared log, lines of several runs mix.
        Command = CommandPath(parse, withProgram: false);
        Progress = new Progress(stderr, ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected && !NoColor, Command);
        var config = new LoggerConfiguration()
            .MinimumLevel.Debug()
            .WriteTo.Sink(new TextWriterSink(stderr, "{Timestamp:HH:mm:ss} " + Command + " {Level:u3} {Message:lj}{NewLine}{Exception}", Progress), level);
        if (parse.GetValue(GlobalOptions.LogFile) is { } logFile)
        {
            _logFile = OpenLogFile(logFile);
            _fileLogger = new LoggerConfiguration()
                .MinimumLevel.Debug()
                .WriteTo.Sink(new TextWriterSink(_logFile, "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} " + Command + " {Level:u3} {Message:lj}{NewLine}{Exception}"))
                .CreateLogger();
            config = config.WriteTo.Logger(_fileLogger);
        }
        _logger = config.CreateLogger();
    }

    public ParseResult Parse { get; }

    /// <summary>The command path without the program, e.g. "apply" or "leases list": what log and progress lines name.</summary>
    public string Command { get; }

    /// <summary>Per-host progress on stderr, which log lines are written above.</summary>
    public Progress Progress { get; }

    public OutputWriter Out { get; }

    public TextWriter Stderr { get; }

    /// <summary>Where apply and destroy ask for confirmation.</summary>
    public Terminal Terminal { get; }

    public ILogger Log => _logger;

    /// <summary>The --log-file alone (null without one): where a failure's detail goes without repeating it on stderr.</summary>
    public ILogger? FileLog => _fileLogger;

    /// <summary>
    /// Loads and validates the spec named by <paramref name="option"/>, else <c>$OVERLAYCTL_SPEC</c>, else ./cluster.yaml
    /// (<see cref="SpecFile"/>); errors surface as <see cref="SpecException"/>.
    /// </summary>
    public ClusterSpec LoadSpec(Option<string?> option) => SpecLoader.Load(SpecFile.Resolve(Parse.GetValue(option), Environment.GetEnvironmentVariable, File.Exists));

    /// <summary>The spec when one is named or found (<see cref="SpecFile.Find"/>), else null: for commands that also work from bare etcd flags.</summary>
    public ClusterSpec? LoadOptionalSpec(Option<string?> option) =>
        SpecFile.Find(Parse.GetValue(option), Environment.GetEnvironmentVariable, File.Exists) is { } path ? SpecLoader.Load(path) : null;

    /// <summary>etcd settings from the flags, the environment and the spec (<see cref="EtcdSettings"/>).</summary>
    public EtcdClientOptions EtcdOptions(ClusterSpec? spec) => EtcdSettings.Resolve(Parse, spec, Environment.GetEnvironmentVariable);

    /// <summary>
    /// The lease store for a spec, or for a bare --endpoints/--prefix when there is none. The client reads
    /// and checks every TLS file as it is made, before any etcd or host is touched. Leases it takes carry
    /// <paramref name="ttl"/> (an agent's, from <c>leases.ttl</c>); without it they are reservations.
    /// </summary>
    public EtcdLeaseStore OpenLeaseStore(ClusterSpec? spec, string? prefix = null, TimeSpan? ttl = null)
    {
        var client = new EtcdGrpcClient(EtcdOptions(spec));
        _disposables.Add(client);
        return new EtcdLeaseStore(client, prefix ?? spec?.Etcd.Prefix ?? EtcdSpec.DefaultPrefix, ttl);
    }

    /// <summary>Every process overlayctl starts on any host goes through this one runner (and its counter).</summary>
    public ProcessRunner Processes => _processes ??= new ProcessRunner(_logger, TimeSpan.FromSeconds(60));

    /// <summary>The run's ssh connections, one per host, closed when the command ends (Ctrl-C too: <see cref="Dispose"/>).</summary>
    public SshConnections SshConnections
    {
        get
        {
            if (_ssh is null)
            {
                _ssh = new SshConnections(Processes);
                _disposables.Add(_ssh);
            }
            return _ssh;
        }
    }

    private SshConnections? _ssh;

    /// <summary>The runner for a spec host: over ssh, on the run's shared connection to it.</summary>
    public Core.Hosts.IHostRunner Runner(HostSpec host) =>
        HostRunnerFactory.Create(host, Processes, connections: host.Connection is HostConnection.Ssh ? SshConnections : null);

    public ClusterEngine Engine(ClusterSpec spec, EtcdLeaseStore store, int parallel = 10, TimeSpan lockWait = default) =>
        new(spec, store, Runner, _logger, parallel, Progress, new ClusterLocking(LockHolder, lockWait));

    /// <summary>
    /// This run as the cluster lock names it: the command path only (never its arguments, which may
    /// carry a password), so etcd never stores a secret.
    /// </summary>
    public LockHolder LockHolder
    {
        get => LockHolder.Current(CommandPath(Parse, withProgram: true));
    }

    private static string CommandPath(ParseResult parse, bool withProgram)
    {
        var names = new List<string>();
        for (var c = parse.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult) names.Insert(0, c.Command.Name);
        names[0] = "overlayctl";
        return string.Join(' ', withProgram ? names : names.Skip(1).DefaultIfEmpty("overlayctl"));
    }

    /// <summary>--lock-timeout: how long a run that changes the cluster waits for another one's lock.</summary>
    public TimeSpan LockWait(Option<string?> option) =>
        Parse.GetValue(option) is not { } text ? TimeSpan.Zero
        : text is "0" or "0s" ? TimeSpan.Zero
        : GoDuration.Parse(text) ?? throw new InputException($"--lock-timeout '{text}' is not a duration (fix: e.g. 30s or 5m; 0 fails at once)");

    /// <summary>Colours on stdout only for a terminal, never for a pipe or a file.</summary>
    public bool Color => Colors.Enabled(Parse.GetValue(GlobalOptions.NoColor), Environment.GetEnvironmentVariable("NO_COLOR"), ReferenceEquals(_stdout, Console.Out) && !Console.IsOutputRedirected);

    /// <summary>--no-color, or the NO_COLOR convention: no escape sequences at all.</summary>
    public bool NoColor => Parse.GetValue(GlobalOptions.NoColor) || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 };

    /// <summary>
    /// Opens the audit log for appending, or says why it cannot be: a log that silently goes nowhere
    /// (or into a directory created by a typo) is worse than a refusal.
    /// </summary>
    private static StreamWriter OpenLogFile(string path)
    {
        const string Fix = "name a file in an existing directory, e.g. --log-file /var/log/overlayctl.log";
        if (path.Length == 0) throw new InputException($"--log-file '' names no file (fix: {Fix})");
        if (Directory.Exists(path)) throw new InputException($"--log-file {path}: is a directory, not a file (fix: {Fix})");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
            throw new InputException($"--log-file {path}: {directory} {(File.Exists(directory) ? "is a file, not a directory" : "does not exist")} (fix: {Fix})");
        try
        {
            return new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new System.Text.UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"--log-file {path}: cannot be written: {e.Message} (fix: {Fix})", e);
        }
    }

    public void Dispose()
    {
        Progress.Dispose();
        foreach (var d in _disposables) d.Dispose();
        _logger.Dispose();
        _fileLogger?.Dispose();
        _logFile?.Dispose();
    }
}
