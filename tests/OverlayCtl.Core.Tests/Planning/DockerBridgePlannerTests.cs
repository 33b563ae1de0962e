using OverlayCtl.Core.Spec;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Planning;

/// <summary>The docker bridge: found by overlayctl's alias under an old name, and kept while a container uses it.</summary>
public sealed class DockerBridgePlannerTests
{
    private static readonly ClusterSpec Renamed = Lab.Spec(docker: "  bridge: br-ctr");

    /// <summary>node1 converged, with a container's veth attached to <paramref name="bridge"/>.</summary>
    private static ObservedHost WithContainer(ObservedHost host, string bridge) =>
        host with { Links = [.. host.Links, new LinkInfo(9, "veth1234", "veth", 1500, null, true, bridge, null, null)] };

    [Fact]
    public void ARenamedDockerBridgeIsRemovedByItsMarkAndTheNewOneTakesTheGateway()
    {
        var plan = Planner.PlanApply(Lab.Input(Renamed, Lab.Converged(Lab.Spec(), 2), 2));
        Golden.Match("OverlayCtl.Core.Tests", "bridge-renamed.txt", PlanRenderer.Render(new Plan([plan])));
        Assert.Equal((ChangeKind.Remove, "ip link del docker0"), (plan.Operations[0].Kind, plan.Operations[0].Render()));
        Assert.Contains(plan.Operations, o => o.Render() == "ip addr add 10.244.1.1/24 dev br-ctr");
        Assert.Empty(plan.Warnings);
    }

    [Fact]
    public void DestroyWithTheNewNameRemovesTheOldBridgeToo()
    {
        var plan = Planner.PlanDestroy(Renamed, Renamed.Hosts[0], Lab.LeaseOf(Renamed, 1), Lab.Converged(Lab.Spec(), 2));
        Assert.Contains(plan.Operations, o => (o.Kind, o.Address) == (ChangeKind.Remove, ResourceAddress.Link("docker0")));
    }

    [Fact]
    public void ABridgeWithoutOurMarkUnderAnotherNameIsLeftAlone()
    {
        var converged = Lab.Converged(Lab.Spec(), 2);
        var theirs = converged with { Links = converged.Links.Select(l => l.Name == "docker0" ? l with { Alias = null } : l).ToList() };
        Assert.DoesNotContain(Planner.PlanApply(Lab.Input(Renamed, theirs, 2)).Operations, o => o.Address.Name.Contains("docker0", StringComparison.Ordinal));
    }

    [Fact]
    public void DestroyKeepsADockerBridgeWithAContainerAttachedUnlessForced()
    {
        var spec = Lab.Spec();
        var observed = WithContainer(Lab.Converged(spec, 2), "docker0");
        var kept = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), observed);
        Assert.DoesNotContain(kept.Operations, o => o.Address.Name.Contains("docker0", StringComparison.Ordinal));
        var warning = Assert.Single(kept.Warnings);
        Assert.StartsWith("docker0 kept: veth1234 is attached to it", warning, StringComparison.Ordinal);
        Assert.Contains("! docker0 kept", PlanRenderer.Render(new Plan([kept])), StringComparison.Ordinal);

        var forced = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), observed, force: true);
        Assert.Contains(forced.Operations, o => o.Render() == "ip link del docker0");
        Assert.Empty(forced.Warnings);
    }

    [Fact]
    public void AnOldBridgeWithAContainerIsKeptButGivesUpTheGateway()
    {
        var observed = WithContainer(Lab.Converged(Lab.Spec(), 2), "docker0");
        var plan = Planner.PlanApply(Lab.Input(Renamed, observed, 2));
        Assert.Equal("ip addr del 10.244.1.1/24 dev docker0", plan.Operations[0].Render());
        Assert.DoesNotContain(plan.Operations, o => o.Render() == "ip link del docker0");
        Assert.Single(plan.Warnings);
    }

    [Fact]
    public void APortOverlayctlMarkedIsNotAForeignOne()
    {
        var spec = Lab.Spec();
        var converged = Lab.Converged(spec, 2);
        var ours = converged with { Links = [.. converged.Links, new LinkInfo(9, "ovl-probe", "veth", 1500, null, true, "docker0", Planner.Comment, null)] };
        var plan = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), ours);
        Assert.Contains(plan.Operations, o => o.Render() == "ip link del docker0");
    }
}
