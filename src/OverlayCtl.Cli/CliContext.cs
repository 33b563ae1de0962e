using System.CommandLine;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Spec;
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

    public CliContext(ParseResult parse, TextWriter stdout, TextWriter stderr)
    {
        Parse = parse;
        Out = new OutputWriter(stdout, parse.GetValue(GlobalOptions.Output));
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

    public void Dispose() => _logger.Dispose();
}
