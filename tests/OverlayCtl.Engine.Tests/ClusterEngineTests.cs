using OverlayCtl.Core;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Engine.Tests.Support;
using Serilog;

namespace OverlayCtl.Engine.Tests;

/// <summary>The use cases over hand-written doubles: no etcd, no namespaces, no root.</summary>
public sealed class ClusterEngineTests
{
    private static readonly ILogger Silent = new LoggerConfiguration().CreateLogger();

    /// <summary>A cluster of <paramref name="hosts"/> hosts n1, n2, ... that writes no Docker files; vxlan unless <paramref name="backend"/> says.</summary>
    internal static ClusterSpec Spec(int hosts, string cidr = "10.244.0.0/16", int typo = 0, string? backend = null) => SpecLoader.Parse($"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: unit
        network:
          cidr: {cidr}{(backend is null ? "" : $"\n  backend: {backend}")}
        docker:
          daemonConfig: null
          subnetEnv: null
        hosts:
        {string.Concat(Enumerable.Range(1, hosts).Select(i => $"  - name: n{i}\n    address: 198.18.0.{(i == typo ? 50 : 10) + i}\n"))}
        """, "unit.yaml");

    private sealed class Cluster
    {
        public Cluster(int hosts, int parallel = 10, ClusterSpec? spec = null)
        {
            Spec = spec ?? ClusterEngineTests.Spec(hosts);
            // Each fake host holds its real address (198.18.0.1N), whatever the spec says.
            Hosts = Spec.Hosts.ToDictionary(h => h.Name, h => new FakeHost(h.Name, $"198.18.0.{10 + int.Parse(h.Name[1..], System.Globalization.CultureInfo.InvariantCulture)}", Gauge));
            Engine = new ClusterEngine(Spec, Store, h => Hosts[h.Name], Silent, parallel);
        }

        public ClusterSpec Spec { get; }
        public InMemoryLeaseStore Store { get; } = new();
        public Gauge Gauge { get; } = new();
        public Dictionary<string, FakeHost> Hosts { get; }
        public ClusterEngine Engine { get; }

        public IReadOnlyList<HostSpec> Only(params string[] names) => LeaseCoordinator.Targets(Spec, string.Join(',', names));
    }

    [Fact]
    public async Task CtrlCEndsTheRunningHostAndTheWaitingOnesAsInterruptedAndKeepsTheFinishedOnes()
    {
        // One host at a time: n1 converges, n2 hangs in its first change, n3 waits for a slot.
        var cluster = new Cluster(3, parallel: 1);
        cluster.Hosts["n2"].HangOnChange = true;
        using var ctrlC = new CancellationTokenSource();
        var run = cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, ctrlC.Token);
        await cluster.Hosts["n2"].Hung.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await ctrlC.CancelAsync();
        var outcomes = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal([HostResult.Changed, HostResult.Interrupted, HostResult.Interrupted], outcomes.Select(o => o.Result));
        Assert.Equal([null, ClusterRunner.InterruptedWhileRunning, ClusterRunner.InterruptedBeforeStart], outcomes.Select(o => o.Error));
        Assert.False(cluster.Hosts["n3"].Changed);
    }

    [Fact]
    public async Task ProgressSaysAPlannedHostIsToChangeAndAnAppliedOneChanged()
    {
        var cluster = new Cluster(2);
        var progress = new RecordedProgress();
        // One host at a time: n1 is done before n2 in every pass.
        var engine = new ClusterEngine(cluster.Spec, cluster.Store, h => cluster.Hosts[h.Name], Silent, parallel: 1, progress);
        await engine.PlanAsync(cluster.Spec.Hosts, default);
        await engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        Assert.Equal(
            ["reading n1 ok", "reading n2 ok", "planning n1 to change", "planning n2 to change",
             "reading n1 ok", "reading n2 ok", "applying n1 changed", "applying n2 changed"],
            progress.Done);
        Assert.Equal(progress.Started.Count, progress.Done.Count);
    }

    /// <summary>What progress was told: "PHASE HOST RESULT" per host done, in order.</summary>
    private sealed class RecordedProgress : IClusterProgress
    {
        private string _phase = "";

        public List<string> Started { get; } = [];

        public List<string> Done { get; } = [];

        public void Start(string phase, int hosts, bool detailed) => _phase = phase;

        public void HostStarted(string host)
        {
            lock (Started) Started.Add(host);
        }

        public void HostDone(string host, string result)
        {
            lock (Done) Done.Add($"{_phase} {host} {result}");
        }
    }

    [Theory]
    [InlineData("n4: `ip link` exited 2: boom", "n4: `ip link` exited 2: boom")]
    [InlineData("connection refused", "n4: connection refused")]
    [InlineData("n44: not this host's name", "n4: n44: not this host's name")]
    public void AHostErrorNamesItsHostOnce(string message, string logged) =>
        Assert.Equal(logged, ClusterRunner.NamingHostOnce("n4", message));

    [Fact]
    public async Task OneHostFailingLeavesTheOthersConvergedAndSaysWhy()
    {
        var cluster = new Cluster(3);
        cluster.Hosts["n2"].FailWith = "ssh: connect to host 198.18.0.12 port 22: No route to host";
        var outcomes = await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        Assert.Equal([HostResult.Changed, HostResult.Failed, HostResult.Changed], outcomes.Select(o => o.Result));
        Assert.Contains("No route to host", outcomes[1].Error, StringComparison.Ordinal);
        Assert.True(cluster.Hosts["n1"].Changed);
        Assert.True(cluster.Hosts["n3"].Changed);
    }

    [Fact]
    public async Task NoMoreHostsThanParallelAreDrivenAtOnce()
    {
        var cluster = new Cluster(6, parallel: 2);
        foreach (var host in cluster.Hosts.Values) host.Latency = TimeSpan.FromMilliseconds(20);
        await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        Assert.Equal(2, cluster.Gauge.Most);
    }

    [Fact]
    public async Task ApplyUnderALimitLeasesEveryHostButTouchesOnlyTheTargets()
    {
        var cluster = new Cluster(3);
        var outcomes = await cluster.Engine.ApplyAsync(cluster.Only("n2"), dryRun: false, default);
        Assert.Equal("n2", Assert.Single(outcomes).Host);
        Assert.Equal(3, (await cluster.Store.ListAsync(default)).Count);
        Assert.Empty(cluster.Hosts["n1"].Ran);
        Assert.True(cluster.Hosts["n2"].Changed);
    }

    [Fact]
    public async Task PlanWritesNothingAndPredictsTheLeasesApplyThenAllocates()
    {
        var cluster = new Cluster(3);
        var plan = await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default);
        Assert.Equal(0, cluster.Store.Writes);
        Assert.All(cluster.Hosts.Values, h => Assert.False(h.Changed));
        Assert.Equal(["n1", "n2", "n3"], plan.Provisional.Order());
        Assert.All(plan.Outcomes, o => Assert.Equal(HostResult.Changed, o.Result));

        var applied = await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        Assert.Equal(plan.Outcomes.Select(o => o.Lease!.Subnet), applied.Select(o => o.Lease!.Subnet));
        Assert.Empty((await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default)).Provisional);
    }

    [Fact]
    public async Task PredictionStepsAroundHeldAndUnreadableRanges()
    {
        var cluster = new Cluster(2);
        cluster.Store.AddUnreadable(new UnreadableLease("/coreos.com/network/subnets/10.244.1.0-24", Ipv4Cidr.Parse("10.244.1.0/24"), "[]"));
        await cluster.Store.AcquireAsync(cluster.Engine.Leases.Config,
            [new LeaseRequest(Ipv4Address.Parse("198.18.0.99"), null, "vxlan", 1, null, "flannel-node")], default);
        var predicted = cluster.Engine.Leases.Predict(await cluster.Store.SnapshotAsync(default));
        Assert.Equal(["10.244.2.0/24", "10.244.3.0/24", "10.244.4.0/24"], predicted.Select(l => l.Subnet.ToString()));
    }

    [Fact]
    public async Task DestroyReleasesOnlyTheLeasesOfHostsItCleaned()
    {
        var cluster = new Cluster(2);
        await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        cluster.Hosts["n2"].FailWith = "host is down";
        var outcomes = await cluster.Engine.DestroyAsync(cluster.Spec.Hosts, releaseLeases: true, dryRun: false, default);
        // n1 (fresh, as the fake always reports) has nothing to remove; n2 cannot be reached.
        Assert.Equal([HostResult.Ok, HostResult.Failed], outcomes.Select(o => o.Result));
        Assert.Equal([Ipv4Address.Parse("198.18.0.12")], (await cluster.Store.ListAsync(default)).Select(l => l.PublicIp));
    }

    [Fact]
    public void AnUnknownLimitNameIsBadInputNamingTheKnownHosts()
    {
        var e = Assert.Throws<InputException>(() => LeaseCoordinator.Targets(Spec(2), "n1,n9"));
        Assert.Contains("n9", e.Message, StringComparison.Ordinal);
        Assert.Contains("known: n1, n2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHostWithoutALeaseIsReportedNotPlanned()
    {
        var cluster = new Cluster(2);
        var outcomes = await cluster.Engine.Hosts.ConvergeAsync(cluster.Spec.Hosts, [], execute: true, default);
        Assert.All(outcomes, o => Assert.Contains("holds no lease", o.Error, StringComparison.Ordinal));
        Assert.All(cluster.Hosts.Values, h => Assert.Empty(h.Ran));
    }

    [Fact]
    public async Task ApplyAndDestroyRefuseWhileAnotherRunHoldsTheLockAndTouchNoHost()
    {
        var cluster = new Cluster(2);
        await using (await cluster.Store.LockAsync(LockHolder.Current("overlayctl apply"), TimeSpan.Zero, default))
        {
            await Assert.ThrowsAsync<ClusterLockedException>(() => cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default));
            await Assert.ThrowsAsync<ClusterLockedException>(() => cluster.Engine.DestroyAsync(cluster.Spec.Hosts, releaseLeases: true, dryRun: false, default));
            Assert.All(cluster.Hosts.Values, h => Assert.Empty(h.Ran));
            Assert.Equal(0, cluster.Store.Writes);
            // Plans and dry runs read only: they take no lock.
            await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default);
            await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: true, default);
        }
        await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        Assert.Null(cluster.Store.Holder);
    }

    [Fact]
    public async Task PlanAndApplyRefuseANetworkChangeThatWouldStrandLeasesAndWriteNothing()
    {
        var cluster = new Cluster(2);
        await cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default);
        var writes = cluster.Store.Writes;
        var moved = new Cluster(2, spec: Spec(2, cidr: "10.245.0.0/16"));
        var engine = new ClusterEngine(moved.Spec, cluster.Store, h => moved.Hosts[h.Name], Silent);

        var plan = await Assert.ThrowsAsync<SpecException>(() => engine.PlanAsync(moved.Spec.Hosts, default));
        var apply = await Assert.ThrowsAsync<SpecException>(() => engine.ApplyAsync(moved.Spec.Hosts, dryRun: false, default));
        Assert.Equal(plan.Message, apply.Message);
        var error = Assert.Single(apply.Errors);
        Assert.Equal(("unit.yaml", 5), (error.File, error.Line));
        Assert.Contains("would strand those hosts", error.Message, StringComparison.Ordinal);
        Assert.Equal(writes, cluster.Store.Writes);
        Assert.All(moved.Hosts.Values, h => Assert.False(h.Changed));
    }

    [Fact]
    public async Task AnAddressTheHostDoesNotHoldIsRefusedAtItsLineBeforeAnyLease()
    {
        var cluster = new Cluster(3, spec: Spec(3, typo: 2));
        var e = await Assert.ThrowsAsync<SpecException>(() => cluster.Engine.ApplyAsync(cluster.Spec.Hosts, dryRun: false, default));
        var error = Assert.Single(e.Errors);
        Assert.Equal(13, error.Line);
        Assert.Contains("host n2 does not hold its address 198.18.0.52 (it holds 198.18.0.12 on eth0)", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, cluster.Store.Writes);
        Assert.All(cluster.Hosts.Values, h => Assert.False(h.Changed));
        await Assert.ThrowsAsync<SpecException>(() => cluster.Engine.PlanAsync(cluster.Spec.Hosts, default));
    }

    [Fact]
    public async Task AnOverlayOverAPathTheHostUsesOrTheOperatorsSshSessionIsRefused()
    {
        var cluster = new Cluster(2);
        cluster.Hosts["n1"].ExtraRoute = """{"dst":"10.0.0.0/8","gateway":"198.18.0.1","dev":"eth0","protocol":"static"}""";
        cluster.Hosts["n2"].SshClient = "10.244.7.9 51234 22";
        var e = await Assert.ThrowsAsync<SpecException>(() => cluster.Engine.PlanAsync(cluster.Spec.Hosts, default));
        Assert.Equal(2, e.Errors.Count);
        Assert.All(e.Errors, x => Assert.Equal(5, x.Line));
        Assert.Contains("route 10.0.0.0/8 via 198.18.0.1 dev eth0", e.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("ssh session on host n2 comes from 10.244.7.9", e.Errors[1].Message, StringComparison.Ordinal);

        // overlayctl's own routes (proto 211) and a session from outside the overlay are fine.
        cluster.Hosts["n1"].ExtraRoute = """{"dst":"10.244.9.0/24","gateway":"10.244.9.0","dev":"flannel.1","protocol":"211","flags":["onlink"]}""";
        cluster.Hosts["n2"].SshClient = "198.18.0.1 51234 22";
        await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default);
    }

    private static PlanDocument Saved(ClusterSpec spec, PlanResult plan) =>
        PlanDocument.From(plan, new PlannedSpec(spec.SourcePath, spec.Digest), DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task ASavedPlanIsAppliedExactlyWithItsPredictedLeases()
    {
        var cluster = new Cluster(2);
        var saved = Saved(cluster.Spec, await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default));
        Assert.All(saved.Hosts, h => Assert.StartsWith("sha256:", h.Fingerprint, StringComparison.Ordinal));
        var outcomes = await cluster.Engine.ApplyPlanAsync(saved, default);
        Assert.Equal(saved.Hosts.Select(h => h.Subnet), outcomes.Select(o => o.Lease!.Subnet.ToString()));
        Assert.Equal(saved.Hosts.Select(h => h.Operations), outcomes.Select(o => o.Plan!.Operations.Select(OperationReport.From).ToList()), new OperationsComparer());
        Assert.All(cluster.Hosts.Values, h => Assert.True(h.Changed));
    }

    [Fact]
    public async Task ASavedWireGuardPlanThatMakesAKeyLeavesTheHostsLeaseCarryingItsPublicKey()
    {
        var spec = Spec(2, backend: "wireguard");
        var cluster = new Cluster(2, spec: spec);
        var plan = await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default);
        var saved = Saved(cluster.Spec, plan);
        Assert.All(saved.Hosts, h => Assert.Contains(h.Operations, o => o.After?.Contains("private key generated", StringComparison.Ordinal) == true));
        await cluster.Engine.ApplyPlanAsync(saved, default);
        // The plan could not know the public keys; once it made them, the leases say them (peers add them next apply).
        var leases = await cluster.Store.ListAsync(default);
        Assert.Equal(2, leases.Count);
        Assert.All(leases, l => Assert.Equal(FakeHost.PublicKey, l.PublicKey));
        Assert.All(cluster.Hosts.Values, h => Assert.True(h.HasKey));
    }

    [Fact]
    public async Task ASavedPlanIsRefusedChangingNothingWhenEtcdOrAHostMovedOrItWasEdited()
    {
        var cluster = new Cluster(2);
        var saved = Saved(cluster.Spec, await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default));

        await cluster.Store.AcquireAsync(cluster.Engine.Leases.Config, [new LeaseRequest(Ipv4Address.Parse("198.18.0.99"), null, "vxlan", 1, null, "flannel-node")], default);
        var writes = cluster.Store.Writes;
        var etcd = await Assert.ThrowsAsync<StalePlanException>(() => cluster.Engine.ApplyPlanAsync(saved, default));
        Assert.Contains("the leases or network config in etcd changed", Assert.Single(etcd.Reasons), StringComparison.Ordinal);

        saved = Saved(cluster.Spec, await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default));
        cluster.Hosts["n2"].ExtraRoute = """{"dst":"192.168.0.0/16","gateway":"198.18.0.1","dev":"eth0","protocol":"static"}""";
        var host = await Assert.ThrowsAsync<StalePlanException>(() => cluster.Engine.ApplyPlanAsync(saved, default));
        Assert.Equal("n2 changed since the plan", Assert.Single(host.Reasons));

        saved = Saved(cluster.Spec, await cluster.Engine.PlanAsync(cluster.Spec.Hosts, default));
        var edited = saved with { Hosts = [saved.Hosts[0] with { Operations = [.. saved.Hosts[0].Operations.Take(3), saved.Hosts[0].Operations[3] with { Command = "ip link set eth0 down" }, .. saved.Hosts[0].Operations.Skip(4)] }, saved.Hosts[1]] };
        var tampered = await Assert.ThrowsAsync<StalePlanException>(() => cluster.Engine.ApplyPlanAsync(edited, default));
        Assert.StartsWith("n1: planning again from the same state gives other operations", Assert.Single(tampered.Reasons), StringComparison.Ordinal);
        Assert.All(cluster.Hosts.Values, h => Assert.False(h.Changed));
        Assert.Equal(writes, cluster.Store.Writes);
    }

    private sealed class OperationsComparer : IEqualityComparer<IReadOnlyList<OperationReport>>
    {
        public bool Equals(IReadOnlyList<OperationReport>? x, IReadOnlyList<OperationReport>? y) => x!.SequenceEqual(y!);

        public int GetHashCode(IReadOnlyList<OperationReport> obj) => obj.Count;
    }
}
