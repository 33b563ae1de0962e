using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;
using OverlayCtl.Engine.Tests.Support;
using Serilog;

namespace OverlayCtl.Engine.Tests;

/// <summary>verify over hand-written hosts: whatever ends the run, every probe it began is removed.</summary>
public sealed class VerifierTests
{
    private static readonly ILogger Silent = new LoggerConfiguration().CreateLogger();

    private static async Task<(ClusterEngine Engine, ClusterSpec Spec, Dictionary<string, FakeHost> Hosts)> AppliedAsync()
    {
        var spec = SpecLoader.Parse("""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: unit
            network:
              cidr: 10.244.0.0/16
            docker:
              daemonConfig: null
              subnetEnv: null
            hosts:
              - name: n1
                address: 198.18.0.11
              - name: n2
                address: 198.18.0.12
              - name: n3
                address: 198.18.0.13
            """, "unit.yaml");
        var store = new InMemoryLeaseStore();
        var hosts = spec.Hosts.ToDictionary(h => h.Name, h => new FakeHost(h.Name, h.Address.ToString()));
        var engine = new ClusterEngine(spec, store, h => hosts[h.Name], Silent);
        foreach (var outcome in await engine.ApplyAsync(spec.Hosts, dryRun: false, default))
        {
            hosts[outcome.Host].DockerGateway = $"{outcome.Lease!.Subnet.Gateway}/{outcome.Lease.Subnet.PrefixLength}";
            hosts[outcome.Host].Ran.Clear();
        }
        return (engine, spec, hosts);
    }

    private static List<string> Ran(FakeHost host, string prefix)
    {
        lock (host.Ran) return host.Ran.Select(c => c.ToString()).Where(c => c.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    /// <summary>Each namespace the host was asked to add was deleted, its veth first.</summary>
    private static void AssertRemoved(FakeHost host)
    {
        foreach (var added in Ran(host, "ip netns add "))
        {
            var ns = added["ip netns add ".Length..];
            Assert.Contains($"ip netns del {ns}", Ran(host, "ip netns del "));
            Assert.Contains($"ip link del ovp{ns["ovlprobe-".Length..].Replace("-", "", StringComparison.Ordinal)}", Ran(host, "ip link del "));
        }
    }

    [Fact]
    public async Task BrokenPairsAreJudgedAndEveryProbeIsRemovedAfterwards()
    {
        var (engine, spec, hosts) = await AppliedAsync();
        // The fake answers every ping but its TCP listener receives nothing: full-size segments lost.
        var outcome = await engine.VerifyAsync(spec.Hosts, default);
        Assert.Equal(6, outcome.Pairs.Count);
        Assert.All(outcome.Pairs, p => Assert.Equal("TCP: 0 of 4350 bytes arrived while pings pass: a firewall dropping TCP between containers?", Assert.Single(p.Causes)));
        Assert.False(outcome.Ok);
        Assert.All(hosts.Values, h => Assert.Single(Ran(h, "ip netns add ")));
        Assert.All(hosts.Values, AssertRemoved);
    }

    [Fact]
    public async Task ACancelledRunStillRemovesEveryProbeItBegan()
    {
        var (engine, spec, hosts) = await AppliedAsync();
        foreach (var host in hosts.Values) host.Latency = TimeSpan.FromMilliseconds(50);
        using var cancel = new CancellationTokenSource();
        var run = engine.VerifyAsync(spec.Hosts, cancel.Token);
        while (!hosts.Values.Any(h => Ran(h, "ip netns add ").Count > 0)) await Task.Delay(5);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.All(hosts.Values, AssertRemoved);
    }

    [Fact]
    public async Task AHostThatFailsIsNamedAndTheOthersAreStillPaired()
    {
        var (engine, spec, hosts) = await AppliedAsync();
        hosts["n2"].DockerGateway = null;
        var outcome = await engine.VerifyAsync(spec.Hosts, default);
        Assert.Contains("docker bridge docker0 does not exist", outcome.Hosts.Single(h => h.Name == "n2").Error, StringComparison.Ordinal);
        Assert.Equal(["n1->n3", "n3->n1"], outcome.Pairs.Select(p => $"{p.From}->{p.To}"));
        Assert.Empty(Ran(hosts["n2"], "ip netns"));
        Assert.All(hosts.Values, AssertRemoved);
    }
}
