using System.Diagnostics;
using System.Text.RegularExpressions;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Observe.Netlink;
using Xunit.Abstractions;

namespace OverlayCtl.Hosts.Tests.Observe.Netlink;

/// <summary>
/// The in-process monitor against <c>ip -4 monitor link address route neigh</c> watching the same
/// namespace through the same changes: the lines KernelMonitor judges must be the ones ip prints.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection("Namespaces")]
public sealed partial class RtnetlinkMonitorTests : IDisposable
{
    private const string A = "nlr-a";
    private static readonly string[] Devices = ["docker0", "flannel.1"];
    private readonly ITestOutputHelper _output;

    public RtnetlinkMonitorTests(ITestOutputHelper output)
    {
        _output = output;
        RemoveNamespace();
        Sh.Must("ip", "netns", "add", A);
    }

    public void Dispose() => RemoveNamespace();

    [Fact]
    public async Task TheMonitorPrintsWhatIpMonitorPrintsForEachChange()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ours = new List<string>();
        await using var watch = RtnetlinkMonitor.WatchAsync(A, timeout.Token).GetAsyncEnumerator(timeout.Token);
        // The body runs up to its first wait: subscribed once this returns.
        var next = watch.MoveNextAsync();

        var start = new ProcessStartInfo("stdbuf") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-oL", "ip", "-n", A, "-4", "monitor", "link", "address", "route", "neigh" }) start.ArgumentList.Add(a);
        using var ip = Process.Start(start)!;
        var theirs = new List<string>();
        var ipDone = new TaskCompletionSource();
        ip.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (theirs) theirs.Add(e.Data);
            if (e.Data.StartsWith("blackhole 10.201.0.0/16", StringComparison.Ordinal)) ipDone.TrySetResult();
        };
        ip.BeginOutputReadLine();
        try
        {
            await WaitUntilIpListens(theirs, timeout.Token);
            Change();
            while (await next)
            {
                ours.Add(watch.Current);
                if (watch.Current.StartsWith("blackhole 10.201.0.0/16", StringComparison.Ordinal)) break;
                next = watch.MoveNextAsync();
            }
            await ipDone.Task.WaitAsync(timeout.Token);
        }
        finally
        {
            ip.Kill();
            await ip.WaitForExitAsync(CancellationToken.None);
        }

        List<string> headlines;
        lock (theirs) headlines = AfterMarker(theirs.Where(l => l.Length > 0 && l[0] != ' ').ToList());
        // Forwarding database lines are bridge monitor's, not ip's (the bridge's own entries as docker0 and its ports come).
        ours = AfterMarker(ours.Where(l => !IsFdb(l)).ToList());
        _output.WriteLine("ip:\n" + string.Join('\n', headlines) + "\n\nours:\n" + string.Join('\n', ours));

        // Link headlines differ in details ip takes from other devices (M-DOWN) or prints only for some events:
        // compared by what KernelMonitor reads from them, the rest word for word, in the kernel's order.
        Assert.Equal(headlines.Select(Comparable), ours.Select(Comparable));
        Assert.Equal(headlines.Select(l => KernelMonitor.IsRelevant(l, Devices)), ours.Select(l => KernelMonitor.IsRelevant(l, Devices)));
        Assert.Contains("10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211 onlink ", ours);
        Assert.Contains("Deleted 10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211 onlink ", ours);
        Assert.Contains("10.244.2.0 dev flannel.1 lladdr 02:00:00:00:00:02 PERMANENT ", ours);
        Assert.Contains(ours, l => l.StartsWith("Deleted ", StringComparison.Ordinal) && l.Contains(": flannel.1: <", StringComparison.Ordinal));
        Assert.Contains(ours, l => KernelMonitor.IsRelevant(l, Devices) && l.Contains("docker0    inet 10.244.1.1/24", StringComparison.Ordinal));
        Assert.Contains(ours, l => !KernelMonitor.IsRelevant(l, Devices) && l.StartsWith("10.244.1.10 dev docker0 lladdr 0a:58:0a:f4:01:0a REACHABLE", StringComparison.Ordinal));
    }

    private static bool IsFdb(string line) =>
        OverlayCtl.Core.Net.MacAddress.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["Deleted", var mac, ..] ? mac : line.Split(' ')[0], out _);

    /// <summary>What follows the last marker route added: the one both monitors saw (ip may have missed earlier ones).</summary>
    private static List<string> AfterMarker(List<string> lines) =>
        lines.Skip(lines.FindLastIndex(l => l.StartsWith("blackhole 10.200.0.0/16", StringComparison.Ordinal)) + 1).ToList();

    private static string Comparable(string line)
    {
        var link = LinkHeadline().Match(line);
        return link.Success ? $"{link.Groups[1].Value}{link.Groups[2].Value}: {link.Groups[3].Value}" : line;
    }

    [GeneratedRegex(@"^(Deleted )?(\d+): ([^:@ ]+)(@\S+)?: <")]
    private static partial Regex LinkHeadline();

    /// <summary>Adds blackhole routes until ip monitor prints one: then it is listening, and so are we (subscribed before).</summary>
    private static async Task WaitUntilIpListens(List<string> lines, CancellationToken cancellationToken)
    {
        In("route", "add", "blackhole", "10.200.0.0/16");
        while (true)
        {
            lock (lines)
            {
                if (lines.Any(l => l.StartsWith("blackhole 10.200.0.0/16", StringComparison.Ordinal))) return;
            }
            In("route", "del", "blackhole", "10.200.0.0/16");
            In("route", "add", "blackhole", "10.200.0.0/16");
            await Task.Delay(100, cancellationToken);
        }
    }

    private static void Change()
    {
        In("link", "add", "docker0", "type", "bridge");
        In("addr", "add", "10.244.1.1/24", "dev", "docker0");
        In("link", "set", "docker0", "up");
        In("link", "add", "flannel.1", "mtu", "1450", "type", "vxlan", "id", "1", "dstport", "8472", "nolearning");
        In("link", "set", "flannel.1", "up");
        In("addr", "add", "10.244.1.0/32", "dev", "flannel.1");
        In("neigh", "add", "10.244.2.0", "dev", "flannel.1", "lladdr", "02:00:00:00:00:02", "nud", "permanent");
        In("route", "add", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink", "proto", "211");
        In("neigh", "add", "10.244.1.10", "dev", "docker0", "lladdr", "0a:58:0a:f4:01:0a", "nud", "reachable");
        In("route", "del", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink", "proto", "211");
        In("addr", "del", "10.244.1.1/24", "dev", "docker0");
        In("link", "del", "flannel.1");
        In("route", "add", "blackhole", "10.201.0.0/16");
    }

    private static void In(params string[] args) => Sh.Must("ip", ["-n", A, .. args]);

    private static void RemoveNamespace()
    {
        if (File.Exists(Path.Combine("/run/netns", A))) Sh.Run("ip", "netns", "del", A);
    }
}
