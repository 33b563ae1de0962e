using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Observe.Netlink;

namespace OverlayCtl.Hosts.Tests.Observe.Netlink;

/// <summary>
/// Rule notifications read in process on a real namespace, as iptables (nft backend) makes, changes and
/// flushes overlayctl's chains: the lines are xtables-monitor's without the rule text, and KernelMonitor
/// wakes on exactly the ones about overlayctl's chains or the parents holding their jumps.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection("Namespaces")]
public sealed class NftablesMonitorTests : IDisposable
{
    private const string Ns = "nlm-nft";
    private static readonly string[] Devices = ["docker0", "flannel.1"];

    public NftablesMonitorTests()
    {
        Remove();
        Sh.Must("ip", "netns", "add", Ns);
    }

    public void Dispose() => Remove();

    [Fact]
    public async Task RuleChainAndTableChangesArriveInXtablesMonitorsShape()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var watch = NftablesMonitor.WatchAsync(Ns, timeout.Token).GetAsyncEnumerator(timeout.Token);
        var next = watch.MoveNextAsync();
        // Subscribed once the enumerator waits: a marker rule in a table of its own shows it.
        Iptables("-t", "mangle", "-A", "OUTPUT", "-j", "RETURN");
        Assert.True(await next);
        while (watch.Current != " EVENT: -4 -t mangle -A OUTPUT") Assert.True(await watch.MoveNextAsync());

        Iptables("-t", "nat", "-N", "OVERLAYCTL-POSTRTG");
        Iptables("-t", "nat", "-A", "OVERLAYCTL-POSTRTG", "-s", "10.244.0.0/16", "-d", "10.244.0.0/16", "-j", "RETURN");
        Iptables("-t", "nat", "-A", "POSTROUTING", "-m", "comment", "--comment", "overlayctl", "-j", "OVERLAYCTL-POSTRTG");
        Iptables("-t", "filter", "-N", "DOCKER-USER");
        Iptables("-t", "filter", "-A", "DOCKER-USER", "-j", "RETURN");
        Iptables("-t", "nat", "-F");
        Iptables("-t", "nat", "-X", "OVERLAYCTL-POSTRTG");
        Iptables("-t", "filter", "-A", "INPUT", "-j", "ACCEPT");
        var lines = new List<string>();
        while (await watch.MoveNextAsync())
        {
            lines.Add(watch.Current);
            if (watch.Current == " EVENT: -4 -t filter -A INPUT") break;
        }

        Assert.Equal(
        [
            " EVENT: nft: NEW table: table nat ip",
            " EVENT: -4 -t nat -N OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t nat -A OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t nat -N POSTROUTING",
            " EVENT: -4 -t nat -A POSTROUTING",
            " EVENT: nft: NEW table: table filter ip",
            " EVENT: -4 -t filter -N DOCKER-USER",
            " EVENT: -4 -t filter -A DOCKER-USER",
            " EVENT: -4 -t nat -D OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t nat -D POSTROUTING",
            " EVENT: -4 -t nat -X OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t filter -N INPUT",
            " EVENT: -4 -t filter -A INPUT",
        ], lines);
        // Woken by overlayctl's chain and the jump in POSTROUTING (made, flushed, deleted), not by DOCKER-USER or INPUT.
        Assert.Equal(
        [
            " EVENT: -4 -t nat -N OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t nat -A OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t nat -N POSTROUTING",
            " EVENT: -4 -t nat -A POSTROUTING",
            " EVENT: -4 -t nat -D OVERLAYCTL-POSTRTG",
            " EVENT: -4 -t nat -D POSTROUTING",
            " EVENT: -4 -t nat -X OVERLAYCTL-POSTRTG",
        ], lines.Where(l => KernelMonitor.IsRelevant(l, Devices)).ToList());
    }

    [Fact]
    public async Task OnADualStackHostIp6tablesChangesArriveAndOverlayctlsWakeTheAgent()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var both = NftablesMonitor.WatchAsync(Ns, timeout.Token, ipv6: true).GetAsyncEnumerator(timeout.Token);
        await using var ipv4 = NftablesMonitor.WatchAsync(Ns, timeout.Token).GetAsyncEnumerator(timeout.Token);
        var nextBoth = both.MoveNextAsync();
        var nextIpv4 = ipv4.MoveNextAsync();
        Ip6tables("-t", "filter", "-N", "OVERLAYCTL-FWD");
        Ip6tables("-t", "filter", "-A", "OVERLAYCTL-FWD", "-s", "fd00:10:180::/48", "-j", "ACCEPT");
        Ip6tables("-t", "filter", "-A", "FORWARD", "-m", "comment", "--comment", "overlayctl", "-j", "OVERLAYCTL-FWD");
        Ip6tables("-t", "filter", "-A", "INPUT", "-j", "ACCEPT");
        Ip6tables("-t", "filter", "-F", "FORWARD");
        // An IPv4 marker ends both: the IPv4-only watcher must have seen nothing before it.
        Iptables("-t", "mangle", "-A", "OUTPUT", "-j", "RETURN");
        var lines = new List<string>();
        for (Assert.True(await nextBoth); both.Current != " EVENT: -4 -t mangle -A OUTPUT"; Assert.True(await both.MoveNextAsync())) lines.Add(both.Current);
        Assert.True(await nextIpv4);
        Assert.Equal(" EVENT: nft: NEW table: table mangle ip", ipv4.Current);

        Assert.Equal(
        [
            " EVENT: nft: NEW table: table filter ip6",
            " EVENT: -6 -t filter -N OVERLAYCTL-FWD",
            " EVENT: -6 -t filter -A OVERLAYCTL-FWD",
            " EVENT: -6 -t filter -N FORWARD",
            " EVENT: -6 -t filter -A FORWARD",
            " EVENT: -6 -t filter -N INPUT",
            " EVENT: -6 -t filter -A INPUT",
            " EVENT: -6 -t filter -D FORWARD",
            " EVENT: nft: NEW table: table mangle ip",
            " EVENT: -4 -t mangle -N OUTPUT",
        ], lines);
        Assert.Equal(
        [
            " EVENT: -6 -t filter -N OVERLAYCTL-FWD",
            " EVENT: -6 -t filter -A OVERLAYCTL-FWD",
            " EVENT: -6 -t filter -N FORWARD",
            " EVENT: -6 -t filter -A FORWARD",
            " EVENT: -6 -t filter -D FORWARD",
        ], lines.Where(l => KernelMonitor.IsRelevant(l, Devices)).ToList());
    }

    [Fact]
    public void ADeletedTableWakesTheAgent() =>
        Assert.True(KernelMonitor.IsRelevant(" EVENT: nft: DEL table: table nat ip", Devices));

    private static void Iptables(params string[] args) => Sh.Must("ip", ["netns", "exec", Ns, "iptables", .. args]);

    private static void Ip6tables(params string[] args) => Sh.Must("ip", ["netns", "exec", Ns, "ip6tables", .. args]);

    private static void Remove()
    {
        if (File.Exists(Path.Combine("/run/netns", Ns))) Sh.Run("ip", "netns", "del", Ns);
    }
}
