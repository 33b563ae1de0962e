using System.Globalization;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// A live "3/10 hosts done" line on stderr while hosts are driven, only when stderr is a terminal;
/// otherwise the per-host log lines are the record. Never touches stdout.
/// </summary>
internal sealed class Progress(TextWriter stderr, bool live) : OverlayCtl.Engine.IClusterProgress
{
    private readonly Lock _gate = new();
    private int _done;
    private int _total;

    public void Start(int total)
    {
        _total = total;
        _done = 0;
    }

    public void HostDone(string host, bool ok)
    {
        if (!live) return;
        lock (_gate)
        {
            _done++;
            stderr.Write(string.Create(CultureInfo.InvariantCulture, $"\r\u001b[K{_done}/{_total} hosts  last: {host} {(ok ? "ok" : "FAILED")}"));
            if (_done == _total) stderr.Write("\r\u001b[K");
            stderr.Flush();
        }
    }
}
