using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Observe.Netlink;
using Xunit.Abstractions;

namespace OverlayCtl.Hosts.Tests.Observe.Netlink;

/// <summary>
/// The in-process monitor on a dual-stack host: what a dual-stack vxlan host's IPv6 half is made of (flannel-v6.1, its
/// peer's neighbour, fdb entry to an IPv6 destination and onlink route, the docker bridge's IPv6 gateway) arrives as
/// lines KernelMonitor wakes the agent on, removals included; containers' IPv6 neighbours do not; and an IPv4-only
/// monitor hears none of it but the fdb.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection("Namespaces")]
public sealed class RtnetlinkMonitorIpv6Tests : IDisposable
{
    private const string A = "ag6-m1";
    private static readonly string[] Devices = ["docker0", "flannel.1", "flannel-v6.1"];
    private readonly ITestOutputHelper _output;

    public RtnetlinkMonitorIpv6Tests(ITestOutputHelper output)
    {
        _output = output;
        RemoveNamespace();
        Sh.Must("ip", "netns", "add", A);
    }

    public void Dispose() => RemoveNamespace();

    [Fact]
    public async Task OverlayctlsIpv6StateAndItsRemovalWakeTheAgent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var dual = RtnetlinkMonitor.WatchAsync(A, timeout.Token, ipv6: true).GetAsyncEnumerator(timeout.Token);
        await using var ipv4 = RtnetlinkMonitor.WatchAsync(A, timeout.Token).GetAsyncEnumerator(timeout.Token);
        // The body runs up to its first wait: subscribed once this returns.
        var nextDual = dual.MoveNextAsync();
        var nextIpv4 = ipv4.MoveNextAsync();
        Change();
        var ours = await UntilMarker(dual, nextDual);
        var ipv4Only = await UntilMarker(ipv4, nextIpv4);
        _output.WriteLine("dual-stack:\n" + string.Join('\n', ours) + "\n\nIPv4 only:\n" + string.Join('\n', ipv4Only));

        bool Wakes(string prefix) => ours.Any(l => l.StartsWith(prefix, StringComparison.Ordinal) && KernelMonitor.IsRelevant(l, Devices));
        Assert.True(Wakes("fd00:10:180:2::/64 via fd00:10:180:2:: dev flannel-v6.1 proto 211 "));
        Assert.True(Wakes("Deleted fd00:10:180:2::/64 via fd00:10:180:2:: dev flannel-v6.1 proto 211 "));
        Assert.Contains(ours, l => l.StartsWith("fd00:10:180:2::/64 ", StringComparison.Ordinal) && l.EndsWith(" onlink ", StringComparison.Ordinal));
        Assert.Contains("fd00:10:180:2:: dev flannel-v6.1 lladdr 02:00:00:00:00:02 PERMANENT ", ours);
        // Deleted, a neighbour is first FAILED (no lladdr any more), then gone: both wake the agent.
        Assert.True(Wakes("fd00:10:180:2:: dev flannel-v6.1 FAILED"));
        Assert.True(Wakes("Deleted fd00:10:180:2:: dev flannel-v6.1 "));
        Assert.Contains("02:00:00:00:00:02 dev flannel-v6.1 dst fd00:198:18:180::2 self permanent", ours);
        Assert.True(Wakes("Deleted 02:00:00:00:00:02 dev flannel-v6.1 dst fd00:198:18:180::2 self permanent"));
        Assert.True(Wakes("Deleted 00:00:00:00:00:00 dev flannel-v6.1 dst fd00:198:18:180::3 self permanent"));
        Assert.Contains(ours, l => l.Contains(": docker0    inet6 fd00:10:180:1::1/64 scope global ", StringComparison.Ordinal));
        Assert.True(Wakes("Deleted ") && ours.Any(l => l.StartsWith("Deleted ", StringComparison.Ordinal) && l.Contains("docker0    inet6 fd00:10:180:1::1/64", StringComparison.Ordinal) && KernelMonitor.IsRelevant(l, Devices)));
        Assert.Contains(ours, l => l.StartsWith("fd00:10:180:1::10 dev docker0 lladdr 0a:58:0a:f4:01:0a REACHABLE", StringComparison.Ordinal) && !KernelMonitor.IsRelevant(l, Devices));

        // Without IPv6 the same changes show only as links and fdb entries.
        Assert.DoesNotContain(ipv4Only, l => l.Contains("inet6", StringComparison.Ordinal) || l.StartsWith("fd00:", StringComparison.Ordinal) || l.StartsWith("Deleted fd00:", StringComparison.Ordinal));
        Assert.Contains("Deleted 02:00:00:00:00:02 dev flannel-v6.1 dst fd00:198:18:180::2 self permanent", ipv4Only);
    }

    /// <summary>Lines up to the marker route (IPv4, so both monitors print it).</summary>
    private static async Task<List<string>> UntilMarker(IAsyncEnumerator<string> watch, ValueTask<bool> next)
    {
        var lines = new List<string>();
        while (await next)
        {
            if (watch.Current.StartsWith("blackhole 10.201.0.0/16", StringComparison.Ordinal)) return lines;
            lines.Add(watch.Current);
            next = watch.MoveNextAsync();
        }
        return lines;
    }

    private static void Change()
    {
        In("link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
        In("-6", "addr", "add", "fd00:198:18:180::1/64", "dev", "eth0", "nodad");
        In("link", "set", "eth0", "up");
        In("link", "set", "eth1", "up");
        In("link", "add", "docker0", "type", "bridge");
        In("-6", "addr", "add", "fd00:10:180:1::1/64", "dev", "docker0", "nodad");
        In("link", "set", "docker0", "up");
        In("link", "add", "flannel-v6.1", "mtu", "1430", "type", "vxlan", "id", "1", "local", "fd00:198:18:180::1", "dev", "eth0", "dstport", "8472", "nolearning");
        In("link", "set", "flannel-v6.1", "up");
        In("-6", "addr", "add", "fd00:10:180:1::/128", "dev", "flannel-v6.1", "nodad");
        In("-6", "neigh", "add", "fd00:10:180:2::", "dev", "flannel-v6.1", "lladdr", "02:00:00:00:00:02", "nud", "permanent");
        Bridge("fdb", "add", "02:00:00:00:00:02", "dev", "flannel-v6.1", "dst", "fd00:198:18:180::2", "self", "permanent");
        Bridge("fdb", "append", "00:00:00:00:00:00", "dev", "flannel-v6.1", "dst", "fd00:198:18:180::3");
        In("-6", "route", "add", "fd00:10:180:2::/64", "via", "fd00:10:180:2::", "dev", "flannel-v6.1", "onlink", "proto", "211");
        In("-6", "neigh", "add", "fd00:10:180:1::10", "dev", "docker0", "lladdr", "0a:58:0a:f4:01:0a", "nud", "reachable");
        In("-6", "route", "del", "fd00:10:180:2::/64", "via", "fd00:10:180:2::", "dev", "flannel-v6.1", "onlink", "proto", "211");
        In("-6", "neigh", "del", "fd00:10:180:2::", "dev", "flannel-v6.1");
        Bridge("fdb", "del", "02:00:00:00:00:02", "dev", "flannel-v6.1", "dst", "fd00:198:18:180::2", "self");
        Bridge("fdb", "del", "00:00:00:00:00:00", "dev", "flannel-v6.1", "dst", "fd00:198:18:180::3", "self");
        In("-6", "addr", "del", "fd00:10:180:1::1/64", "dev", "docker0");
        In("route", "add", "blackhole", "10.201.0.0/16");
    }

    private static void In(params string[] args) => Sh.Must("ip", ["-n", A, .. args]);

    private static void Bridge(params string[] args) => Sh.Must("ip", ["netns", "exec", A, "bridge", .. args]);

    private static void RemoveNamespace()
    {
        if (File.Exists(Path.Combine("/run/netns", A))) Sh.Run("ip", "netns", "del", A);
    }
}
