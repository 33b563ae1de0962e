using OverlayCtl.Core.Backends.Ovs;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Planning;

/// <summary>The Open vSwitch backend's plans, pinned, and what each must and must not touch.</summary>
public sealed class OvsPlannerTests
{
    private const string PerHostDb = "  ovs: { db: \"unix:/run/ovs/{host}/db.sock\", datapathType: netdev }";

    private static string Render(HostPlan plan) => PlanRenderer.Render(new Plan([plan]));

    private static IEnumerable<string> Commands(HostPlan plan) => plan.Operations.Select(o => o.Render());

    [Fact]
    public void AFreshHostGetsTheBridgeItsVtepAddressAndOneProtectedTunnelPortPerPeer()
    {
        var spec = Lab.Spec(backend: "ovs", extra: PerHostDb);
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Fresh(), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "ovs-fresh.txt", Render(plan));
        var vsctl = plan.Operations.Where(o => o.Steps.Single() is OvsStep).ToList();
        Assert.All(vsctl, o => Assert.StartsWith("ovs-vsctl --db=unix:/run/ovs/node1/db.sock --timeout=10 -- ", o.Render(), StringComparison.Ordinal));
        Assert.Equal(["ovs port vx-c000020c", "ovs port vx-c000020d"], vsctl.Where(o => o.Address.Kind == ResourceKind.OvsPort).Select(o => o.Address.ToString()));
        Assert.Contains("ip route replace 10.244.3.0/24 via 10.244.3.0 dev br-overlay onlink proto 211", Commands(plan));
        // The VTEP address goes on the bridge's interface only after the transaction has created it.
        var lastVsctl = plan.Operations.ToList().FindLastIndex(o => o.Steps.Single() is OvsStep);
        Assert.True(lastVsctl < plan.Operations.ToList().FindIndex(o => o.Address.ToString() == "address 10.244.1.0/32 on br-overlay"));
    }

    [Fact]
    public void AConvergedHostPlansNothing()
    {
        var spec = Lab.Spec(backend: "ovs", extra: PerHostDb);
        Assert.Empty(Planner.PlanApply(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2, 3)).Operations);
    }

    [Fact]
    public void APeerThatLeftLosesItsTunnelPortAndRouteOnly()
    {
        var spec = Lab.Spec(backend: "ovs");
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2));
        Assert.Equal([
            "ovs-vsctl --timeout=10 -- --if-exists del-port br-overlay vx-c000020d",
            "ip route del 10.244.3.0/24 dev br-overlay",
        ], Commands(plan));
    }

    [Fact]
    public void ATunnelPortThatDriftedIsResetWhole()
    {
        var spec = Lab.Spec(backend: "ovs");
        var converged = Lab.Converged(spec, 2);
        var bridge = converged.Ovs!.Bridges[0];
        var drifted = converged with
        {
            Ovs = new OvsState([bridge with
            {
                Ports = bridge.Ports.Select(p => p.Name == "vx-c000020c" ? p with { Protected = false, Options = new Dictionary<string, string> { ["remote_ip"] = "192.0.2.99", ["key"] = "1", ["dst_port"] = "8472" } } : p).ToList(),
            }]),
        };
        var op = Assert.Single(Planner.PlanApply(Lab.Input(spec, drifted, 2)).Operations);
        Assert.Equal(ChangeKind.Change, op.Kind);
        Assert.Equal("ovs-vsctl --timeout=10 -- --may-exist add-port br-overlay vx-c000020c -- set interface vx-c000020c type=vxlan"
            + " options:remote_ip=192.0.2.12 options:key=1 options:dst_port=8472 -- set port vx-c000020c protected=true", op.Render());
    }

    [Fact]
    public void SwitchingFromVxlanToOvsRemovesTheVxlanDeviceAndReroutesViaTheMesh()
    {
        var vxlan = Lab.Spec();
        var ovs = Lab.Spec(backend: "ovs");
        var plan = Planner.PlanApply(Lab.Input(ovs, Lab.Converged(vxlan, 2, 3), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "switch-vxlan-to-ovs.txt", Render(plan));
        Assert.Equal("ip link del flannel.1", plan.Operations[0].Render());
        // flannel.1's routes vanish with it: replaced, never deleted one by one.
        Assert.DoesNotContain(plan.Operations, o => o.Render().StartsWith("ip route del", StringComparison.Ordinal));
    }

    [Fact]
    public void SwitchingFromOvsToHostGwRemovesTheBridgeWithItsRoutes()
    {
        var ovs = Lab.Spec(backend: "ovs");
        var hostGw = Lab.Spec(backend: "host-gw");
        var plan = Planner.PlanApply(Lab.Input(hostGw, Lab.Converged(ovs, 2), 2));
        Golden.Match("OverlayCtl.Core.Tests", "switch-ovs-to-host-gw.txt", Render(plan));
        Assert.Equal("ovs-vsctl --timeout=10 -- --if-exists del-br br-overlay", Commands(plan).First());
        Assert.DoesNotContain(plan.Operations, o => o.Render().StartsWith("ip route del", StringComparison.Ordinal));
    }

    [Fact]
    public void DestroyRemovesOurBridgeAndLeavesAnOperatorsBridgeAlone()
    {
        var spec = Lab.Spec(backend: "ovs");
        var converged = Lab.Converged(spec, 2, 3);
        var ours = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), converged);
        Golden.Match("OverlayCtl.Core.Tests", "ovs-destroy.txt", Render(ours));

        var theirs = Unmarked(converged);
        Assert.DoesNotContain(Commands(Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), theirs)), c => c.StartsWith("ovs-vsctl", StringComparison.Ordinal));
    }

    [Fact]
    public void AnOperatorsBridgeOfTheSameNameIsRefusedNotTakenOver()
    {
        var spec = Lab.Spec(backend: "ovs");
        var e = Assert.Throws<PlanningException>(() => Planner.PlanApply(Lab.Input(spec, Unmarked(Lab.Converged(spec, 2)), 2)));
        Assert.Contains("node1: the OVS bridge br-overlay exists but overlayctl did not create it", e.Message, StringComparison.Ordinal);
        Assert.Contains("network.ovs.bridge", e.Message, StringComparison.Ordinal);
    }

    private static ObservedHost Unmarked(ObservedHost host) =>
        host with { Ovs = new OvsState([host.Ovs!.Bridges[0] with { ExternalIds = new Dictionary<string, string>() }]) };

    [Fact]
    public void TunnelPortNamesAreStableAndFitAnInterfaceName()
    {
        var name = OvsBackend.TunnelName(Ipv4Address.Parse("203.0.113.254"));
        Assert.Equal("vx-cb0071fe", name);
        Assert.True(name.Length <= 15);
        Assert.True(OvsBackend.IsTunnelName(name));
        Assert.False(OvsBackend.IsTunnelName("vx-operator"));
    }
}
