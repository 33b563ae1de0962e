using System.Runtime.CompilerServices;
using OverlayCtl.Hosts.Observe.Netlink;
using Serilog;

namespace OverlayCtl.Hosts.Observe;

/// <summary>
/// The kernel's own change notifications on this machine, for an agent, read in process over netlink (no
/// child to start, restart, or leave behind keeping a deleted namespace alive): links, addresses, routes
/// and neighbours (<see cref="RtnetlinkMonitor"/>, the lines <c>ip -4 monitor</c> prints, <c>ip monitor</c>'s on a
/// dual-stack host), forwarding database entries (<c>bridge monitor fdb</c>'s lines) and rule changes
/// (<see cref="NftablesMonitor"/>, in <c>xtables-monitor</c>'s shape); idle until something changes. Only
/// what touches overlayctl's devices, routes or chains is passed on, so a deleted route or a flushed chain
/// wakes the agent at once while containers' ARP traffic does not.
/// </summary>
public static class KernelMonitor
{
    /// <summary>
    /// Relevant lines from both subscriptions until cancelled; one that fails is made again after a second. With
    /// <paramref name="ipv6"/> (a dual-stack host: its IPv6 state is overlayctl's too) IPv6 addresses, routes,
    /// neighbours and ip6tables changes are followed as the IPv4 ones are.
    /// </summary>
    public static async IAsyncEnumerable<string> WatchAsync(IReadOnlyCollection<string> devices, ILogger log, [EnumeratorCancellation] CancellationToken cancellationToken, bool ipv6 = false)
    {
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readers = new[]
        {
            NetlinkAsync((ns, ct) => RtnetlinkMonitor.WatchAsync(ns, ct, ipv6), devices, lines.Writer, log, stop.Token),
            NetlinkAsync((ns, ct) => NftablesMonitor.WatchAsync(ns, ct, ipv6), devices, lines.Writer, log, stop.Token),
        };
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

    /// <summary>One netlink subscription, made again a second after a failure; lost notifications (an overrun) wake the agent for a full look.</summary>
    private static async Task NetlinkAsync(Func<string?, CancellationToken, IAsyncEnumerable<string>> watch, IReadOnlyCollection<string> devices, System.Threading.Channels.ChannelWriter<string> lines, ILogger log, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var line in watch(null, cancellationToken).ConfigureAwait(false))
                    if (line == RtnetlinkMonitor.Overrun || IsRelevant(line, devices)) lines.TryWrite(line);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (NetlinkException e)
            {
                log.Warning("kernel notifications failed ({Message}); subscribing again", e.Message);
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
    /// as <c>dev NAME</c>: its addresses, neighbours, fdb entries and routes, of either family), a route with
    /// proto 211, or one of its iptables or ip6tables chains or their parents. A neighbour merely aging
    /// (reachable, stale) is not.
    /// </summary>
    public static bool IsRelevant(string line, IReadOnlyCollection<string> devices)
    {
        if (line.Contains("EVENT:", StringComparison.Ordinal))
            return line.Contains("OVERLAYCTL", StringComparison.Ordinal) || line.Contains("DEL table:", StringComparison.Ordinal)
                || $"{line} ".Contains(" FORWARD ", StringComparison.Ordinal) || $"{line} ".Contains(" POSTROUTING ", StringComparison.Ordinal);
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
