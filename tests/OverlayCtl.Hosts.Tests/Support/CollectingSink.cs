using Serilog.Core;
using Serilog.Events;

namespace OverlayCtl.Hosts.Tests.Support;

/// <summary>Keeps every log event, rendered, so a test can say what was (and was not) logged.</summary>
internal sealed class CollectingSink : ILogEventSink
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return [.. _lines];
        }
    }

    public void Emit(LogEvent logEvent)
    {
        lock (_lines) _lines.Add(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
    }
}
