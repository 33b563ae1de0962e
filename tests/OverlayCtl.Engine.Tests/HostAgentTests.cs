using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Engine.Tests.Support;
using Serilog;

namespace OverlayCtl.Engine.Tests;

/// <summary>The agent's loop over hand-written doubles: lease, converge, wake on changes (coalesced), ride out etcd outages.</summary>
public sealed class HostAgentTests
{
    private static readonly ILogger Silent = new LoggerConfiguration().CreateLogger();

    private static readonly ClusterSpec Spec = SpecLoader.Parse("""
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
        """, "unit.yaml");

    private static readonly AgentOptions Fast = new(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200));

    private static int Reconciles(FakeHost host)
    {
        lock (host.Ran) return host.Ran.Count(c => c.ToString() == "ip -j -d link show");
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), what);
    }

    private static Task Join(InMemoryLeaseStore store, int n) =>
        store.AcquireAsync(new LeaseCoordinator(Spec, store, Silent).Config, [new LeaseRequest(Ipv4Address.Parse($"198.18.0.{100 + n}"), null, "vxlan", 1, null, $"other{n}")], default);

    [Fact]
    public async Task AWireGuardAgentMakesItsKeyOnTheHostBeforeLeasingAndLeasesOnlyThePublicKey()
    {
        var spec = ClusterEngineTests.Spec(1, backend: "wireguard");
        var store = new InMemoryLeaseStore();
        // A lease the host took under vxlan: the agent rewrites it with its backend's data, keeping the subnet.
        await store.AcquireAsync(new LeaseCoordinator(spec, store, Silent).Config, [new LeaseRequest(Ipv4Address.Parse("198.18.0.11"), null, "vxlan", 1, null, "n1")], default);
        var host = new FakeHost("n1", "198.18.0.11");
        using var stop = new CancellationTokenSource();
        var running = new HostAgent(spec, spec.Hosts[0], store, host, Silent, Fast).RunAsync(stop.Token);

        await Until(() => Reconciles(host) >= 2 && host.Changed, "the agent converged at start");
        var lease = Assert.Single(await store.ListAsync(default));
        Assert.Equal(("10.244.1.0/24", "wireguard", FakeHost.PublicKey, (int?)51820), (lease.Subnet.ToString(), lease.BackendType, lease.PublicKey, lease.Port));
        List<string> ran;
        lock (host.Ran) ran = host.Ran.Select(c => c.Program == "sh" ? c.Arguments[1] : c.ToString()).ToList();
        // The key was made before anything else changed the host, and the device was given it from its file.
        Assert.Equal(WireGuardPrograms.GenerateKey, ran.First(c => !c.StartsWith("ip -j", StringComparison.Ordinal) && !c.StartsWith("bridge -j", StringComparison.Ordinal)
            && c is not ("iptables-save" or "sysctl -n net.ipv4.ip_forward" or "printenv SSH_CLIENT") && c != WireGuardPrograms.PublicKey));
        Assert.Contains("wg set flannel-wg private-key /etc/overlayctl/wireguard/unit.key", ran);

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task TheAgentLeasesConvergesAndConvergesAgainOnceForABurstOfJoins()
    {
        var store = new InMemoryLeaseStore();
        var host = new FakeHost("n1", "198.18.0.11");
        var states = new List<AgentState>();
        using var stop = new CancellationTokenSource();
        var agent = new HostAgent(Spec, Spec.Hosts[0], store, host, Silent, Fast, report: s => { lock (states) states.Add(s); });
        var running = agent.RunAsync(stop.Token);

        await Until(() => Reconciles(host) == 1 && host.Changed, "the agent converged at start");
        Assert.Equal("10.244.1.0/24", Assert.Single((await store.ListAsync(default))).Subnet.ToString());

        foreach (var n in Enumerable.Range(1, 5)) await Join(store, n);
        await Until(() => Reconciles(host) >= 2, "a join woke the agent");
        await Task.Delay(300);
        // Five joins in a burst: one or two reconciles (the burst may straddle the debounce), never five.
        Assert.InRange(Reconciles(host), 2, 3);
        lock (states) Assert.Equal(5, states[^1].Revision - states[0].Revision);

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task WhileEtcdIsDownTheHostIsLeftAsItIsDriftIsRepairedFromTheLastLeasesAndTheAgentCatchesUpAfter()
    {
        var store = new InMemoryLeaseStore();
        var host = new FakeHost("n1", "198.18.0.11");
        var kernel = System.Threading.Channels.Channel.CreateUnbounded<string>();
        using var stop = new CancellationTokenSource();
        var running = new HostAgent(Spec, Spec.Hosts[0], store, host, Silent, Fast, kernel.Reader.ReadAllAsync()).RunAsync(stop.Token);
        await Until(() => Reconciles(host) == 1, "converged at start");
        int changes;
        lock (host.Ran) changes = host.Ran.Count;

        store.Down = true;
        await Task.Delay(500);
        lock (host.Ran) Assert.Equal(changes, host.Ran.Count);
        // The kernel says a route went: repaired from the leases seen last, with etcd still down.
        kernel.Writer.TryWrite("Deleted 10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211");
        await Until(() => Reconciles(host) == 2, "drift repaired while etcd is down");

        store.Down = false;
        await Join(store, 1);
        await Until(() => Reconciles(host) >= 3, "reconnected and converged on what changed meanwhile");
        await stop.CancelAsync();
        await running;
    }
}
