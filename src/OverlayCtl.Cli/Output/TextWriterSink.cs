using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// Serilog sink onto the invocation's stderr writer (not the process-wide Console.Error), so
/// logs stay off stdout and in-process tests can read them.
/// </summary>
/// <remarks>With <paramref name="progress"/>, each line is written above its live line, never on it.</remarks>
internal sealed class TextWriterSink(TextWriter writer, string template, Progress? progress = null) : ILogEventSink
{
    private readonly MessageTemplateTextFormatter _formatter = new(template, System.Globalization.CultureInfo.InvariantCulture);
    private readonly Lock _gate = new();

    public void Emit(LogEvent logEvent)
    {
        lock (_gate)
        {
            if (progress is null) Write(logEvent);
            else progress.WriteAbove(() => Write(logEvent));
        }
    }

    private void Write(LogEvent logEvent)
    {
        _formatter.Format(logEvent, writer);
        writer.Flush();
    }
}
