using OverlayCtl.Core.Spec;
using OverlayCtl.Engine.Tests.Support;
using Serilog;

namespace OverlayCtl.Engine.Tests;

/// <summary>apply and destroy asking first: the plans shown are the plans run, and a no changes no host.</summary>
public sealed class ApprovalTests
{
    private static readonly ClusterSpec Spec = ClusterEngineTests.Spec(2);

    private readonly InMemoryLeaseStore _store = new();
    private readonly Dictionary<string, FakeHost> _hosts = Spec.Hosts.ToDictionary(h => h.Name, h => new FakeHost(h.Name, h.Address.ToString()));

    private ClusterEngine Engine() => new(Spec, _store, h => _hosts[h.Name], new LoggerConfiguration().CreateLogger());

    [Fact]
    public async Task ADeclinedApplyChangesNoHost()
    {
        IReadOnlyList<HostOutcome>? shown = null;
        var outcomes = await Engine().ApplyAsync(Spec.Hosts, dryRun: false, default, (planned, _) =>
        {
            shown = planned;
            return Task.FromResult(false);
        });
        Assert.All(shown!, o => Assert.False(o.Plan!.IsEmpty));
        Assert.Same(shown, outcomes);
        Assert.All(_hosts.Values, h => Assert.False(h.Changed));
    }

    [Fact]
    public async Task AnApprovedApplyRunsThePlansItShowedWithoutPlanningAgain()
    {
        IReadOnlyList<HostOutcome>? shown = null;
        var observesBefore = 0;
        var outcomes = await Engine().ApplyAsync(Spec.Hosts, dryRun: false, default, (planned, _) =>
        {
            shown = planned;
            observesBefore = _hosts["n1"].Ran.Count;
            return Task.FromResult(true);
        });
        Assert.Equal(shown!.Select(o => o.Plan), outcomes.Select(o => o.Plan));
        Assert.All(_hosts.Values, h => Assert.True(h.Changed));
        Assert.DoesNotContain(_hosts["n1"].Ran.Skip(observesBefore), c => c.ToString() == "ip -j -d link show");
    }

    [Fact]
    public async Task ADeclinedDestroyReleasesNoLease()
    {
        await Engine().ApplyAsync(Spec.Hosts, dryRun: false, default);
        await Engine().DestroyAsync(Spec.Hosts, releaseLeases: true, dryRun: false, default, approve: (_, _) => Task.FromResult(false));
        Assert.Equal(2, (await _store.ListAsync(default)).Count);
    }
}
