using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Planning;

public sealed class IptablesRulesTests
{
    private static ObservedHost WithForward(ObservedHost host, params string[] forward)
    {
        var filter = host.Iptables.Table("filter");
        var rules = filter.Rules.Where(r => !r.StartsWith("-A FORWARD ", StringComparison.Ordinal)).Concat(forward).ToList();
        var tables = new Dictionary<string, IptablesTable>(host.Iptables.Tables) { ["filter"] = filter with { Rules = rules } };
        return host with { Iptables = new IptablesState(tables) };
    }

    private static readonly string OurJump = IptablesRules.Jump("FORWARD", IptablesRules.ForwardChain);

    [Fact]
    public void DuplicateJumpsLeftByRacingAppliesAreDriftAndBecomeOne()
    {
        var spec = Lab.Spec();
        var observed = WithForward(Lab.Converged(spec, 2), OurJump, OurJump, OurJump);
        var op = Assert.Single(Planner.PlanApply(Lab.Input(spec, observed, 2)).Operations);
        Assert.Equal(ChangeKind.Change, op.Kind);
        Assert.Equal(ResourceAddress.IptablesJump("filter", "FORWARD"), op.Address);
        var step = Assert.IsType<IptablesStep>(Assert.Single(op.Steps));
        Assert.Equal(3, step.Lines.Count(l => l.StartsWith("-D FORWARD -m comment --comment overlayctl -j OVERLAYCTL-FWD", StringComparison.Ordinal)));
        Assert.Equal("-I FORWARD 1 -m comment --comment overlayctl -j OVERLAYCTL-FWD", step.Lines[^1]);
    }

    [Theory]
    [InlineData("-A FORWARD -j DROP")]
    [InlineData("-A FORWARD -p udp -j REJECT --reject-with icmp-port-unreachable")]
    public void ADropAheadOfOurJumpIsDriftAndTheJumpMovesToTheTop(string drop)
    {
        var spec = Lab.Spec();
        var observed = WithForward(Lab.Converged(spec, 2), drop, OurJump);
        var op = Assert.Single(Planner.PlanApply(Lab.Input(spec, observed, 2)).Operations);
        var step = Assert.IsType<IptablesStep>(Assert.Single(op.Steps));
        Assert.Equal(["-D FORWARD -m comment --comment overlayctl -j OVERLAYCTL-FWD", "-I FORWARD 1 -m comment --comment overlayctl -j OVERLAYCTL-FWD"], step.Lines);
    }

    [Fact]
    public void AcceptsAheadOfOurJumpAndDropsAfterItAreFine()
    {
        var spec = Lab.Spec();
        var observed = WithForward(Lab.Converged(spec, 2), "-A FORWARD -j DOCKER-USER", "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT", OurJump, "-A FORWARD -j DROP");
        Assert.Empty(Planner.PlanApply(Lab.Input(spec, observed, 2)).Operations);
    }
}
