using System.Diagnostics;
using System.Runtime.CompilerServices;
using OverlayCtl.Hosts.Observe.Netlink;
using Serilog;

namespace OverlayCtl.Hosts.Observe;

/// <summary>
/// The kernel's own change notifications on this machine, for an agent: links, addresses, routes and
/// neighbours over rtnetlink in process (<see cref="RtnetlinkMonitor"/>, the lines <c>ip -4 monitor</c>
/// prints), and rule changes from <c>xtables-monitor</c>, a long-running child; both idle until something
/// changes. Only what touches overlayctl's devices, routes or chains is passed on, so a deleted route or a
/// flushed chain wakes the agent at once while containers' ARP traffic does not.
/// </summary>
public static class KernelMonitor
{
    private static readonly string[] Rules = ["xtables-monitor", "-e", "-4"];

    /// <summary>
    /// Relevant lines from both monitors until cancelled; a monitor that ends is started again after a
    /// second. However the enumeration ends, the xtables-monitor process is gone before it returns: one left
    /// behind would outlive the agent and keep a deleted namespace alive.
    /// </summary>
    public static async IAsyncEnumerable<string> WatchAsync(IReadOnlyCollection<string> devices, ILogger log, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readers = new[] { RtnetlinkAsync(devices, lines.Writer, log, stop.Token), RunAsync(Rules, devices, lines.Writer, log, stop.Token) };
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return line;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(readers).ConfigureAwait(false);
        }
    }

    /// <summary>The rtnetlink notifications, subscribed again a second after a failure; lost ones (an overrun) wake the agent for a full look.</summary>
    private static async Task RtnetlinkAsync(IReadOnlyCollection<string> devices, System.Threading.Channels.ChannelWriter<string> lines, ILogger log, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var line in RtnetlinkMonitor.WatchAsync(null, cancellationToken).ConfigureAwait(false))
                    if (line == RtnetlinkMonitor.Overrun || IsRelevant(line, devices)) lines.TryWrite(line);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (NetlinkException e)
            {
                log.Warning("rtnetlink notifications failed ({Message}); subscribing again", e.Message);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task RunAsync(string[] command, IReadOnlyCollection<string> devices, System.Threading.Channels.ChannelWriter<string> lines, ILogger log, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // Line-buffered: both print through stdio, which holds a pipe's output back in blocks.
            var start = new ProcessStartInfo("stdbuf") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var arg in new[] { "-oL" }.Concat(command)) start.ArgumentList.Add(arg);
            Process? process = null;
            try
            {
                process = Process.Start(start)!;
                process.StandardInput.Close();
                process.ErrorDataReceived += (_, _) => { };
                process.BeginErrorReadLine();
                while (await process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                    if (IsRelevant(line, devices)) lines.TryWrite(line);
                log.Debug("{Monitor} exited; starting it again", command[0]);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
            {
                log.Warning("{Monitor} cannot run ({Message}); drift is repaired by the periodic resync only", command[0], e.Message);
            }
            finally
            {
                // Killed here, not from a cancellation callback, which a cancelled read can dispose before it runs.
                if (process is not null)
                {
                    if (!process.HasExited) process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                    process.Dispose();
                }
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static readonly string[] ChurnStates = ["REACHABLE", "STALE", "DELAY", "PROBE"];

    /// <summary>
    /// Whether a monitor line is about overlayctl's state: one of <paramref name="devices"/> (as a link, or
    /// as <c>dev NAME</c>), a route with proto 211, or one of its iptables chains or their parents. A
    /// neighbour merely aging (reachable, stale) is not.
    /// </summary>
    public static bool IsRelevant(string line, IReadOnlyCollection<string> devices)
    {
        if (line.Contains("EVENT:", StringComparison.Ordinal))
            return line.Contains("OVERLAYCTL", StringComparison.Ordinal) || line.Contains(" FORWARD ", StringComparison.Ordinal) || line.Contains(" POSTROUTING ", StringComparison.Ordinal);
        var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0) return false;
        if (!line.StartsWith("Deleted", StringComparison.Ordinal) && ChurnStates.Contains(tokens[^1])) return false;
        if (line.Contains(" proto 211", StringComparison.Ordinal)) return true;
        for (var i = 0; i < tokens.Length - 1; i++)
            if (tokens[i] == "dev" && devices.Contains(tokens[i + 1])) return true;
        // A link line: "[Deleted ]7: flannel.1: <...>" or "7: veth0@if2: <...>"; an address line: "7: docker0    inet ...".
        var name = tokens[0] == "Deleted" && tokens.Length > 2 ? tokens[2] : tokens.Length > 1 ? tokens[1] : "";
        return devices.Contains(name.TrimEnd(':').Split('@')[0]);
    }
}
