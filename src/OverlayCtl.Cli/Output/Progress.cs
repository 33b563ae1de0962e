using System.Globalization;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// Per-host progress on stderr, from the moment hosts start (never on stdout, which carries the data). On a
/// terminal, one live line with a spinner: the phase, hosts done and the hosts still running, redrawn in place;
/// a log line is written above it (the live line is cleared first and drawn again after), so the two never
/// share a line. Otherwise (a pipe, a file, CI) one plain line per host as it ends, for the passes that do a
/// host's work (not the reads that only prepare them).
/// </summary>
internal sealed class Progress : IClusterProgress, IDisposable
{
    private static readonly string[] Spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
    private readonly TextWriter _stderr;
    private readonly bool _live;
    private readonly string _command;
    private readonly Lock _gate = new();
    private readonly List<string> _running = [];
    private readonly Timer? _timer;
    private string _phase = "";
    private int _total;
    private int _done;
    private bool _detailed;
    private bool _drawn;
    private int _frame;

    /// <param name="stderr">where progress goes</param>
    /// <param name="live">stderr is a terminal and colours are allowed: draw the live line</param>
    /// <param name="command">the command the lines belong to, e.g. "apply"</param>
    public Progress(TextWriter stderr, bool live, string command)
    {
        _stderr = stderr;
        _live = live;
        _command = command;
        if (live) _timer = new Timer(_ => Tick(), null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100));
    }

    public void Start(string phase, int hosts, bool detailed)
    {
        lock (_gate)
        {
            (_phase, _total, _done, _detailed) = (phase, hosts, 0, detailed);
            _running.Clear();
            Draw();
        }
    }

    public void HostStarted(string host)
    {
        lock (_gate)
        {
            _running.Add(host);
            Draw();
        }
    }

    public void HostDone(string host, string result)
    {
        lock (_gate)
        {
            _running.Remove(host);
            _done++;
            if (!_live && _detailed)
            {
                _stderr.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_command}: [{_done}/{_total}] {host} {result}"));
                _stderr.Flush();
            }
            if (_done >= _total) Clear();
            else Draw();
        }
    }

    /// <summary>Writes a log line above the live line: cleared first, drawn again after, so they never share a line.</summary>
    public void WriteAbove(Action write)
    {
        lock (_gate)
        {
            Clear();
            write();
            Draw();
        }
    }

    /// <summary>Takes the live line away for good: before a failure's message, and at the end of the command.</summary>
    public void End()
    {
        _timer?.Dispose();
        lock (_gate)
        {
            _total = 0;
            Clear();
        }
    }

    public void Dispose() => End();

    private void Tick()
    {
        lock (_gate)
        {
            _frame++;
            if (_drawn) Draw();
        }
    }

    private void Draw()
    {
        if (!_live || _total == 0 || _done >= _total) return;
        var running = _running.Count == 0 ? "" : "; running " + string.Join(", ", _running.Take(3)) + (_running.Count > 3 ? $" and {_running.Count - 3} more" : "");
        var line = string.Create(CultureInfo.InvariantCulture, $"{Spinner[_frame % Spinner.Length]} {_command}: {_phase} {_done}/{_total} hosts done{running}");
        var width = Width();
        if (line.Length > width - 1) line = line[..(width - 2)] + "…";
        _stderr.Write("\r\u001b[K" + line);
        _stderr.Flush();
        _drawn = true;
    }

    private void Clear()
    {
        if (!_drawn) return;
        _stderr.Write("\r\u001b[K");
        _stderr.Flush();
        _drawn = false;
    }

    private static int Width()
    {
        try
        {
            return Console.WindowWidth is > 10 and var w ? w : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
