using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Diagnostics;

/// <summary>doctor on an ovs host: what it must name, and silence on a healthy one.</summary>
public sealed class DoctorOvsTests
{
    private const string Netdev = "  ovs: { datapathType: netdev }";

    [Fact]
    public void AConvergedOvsHostHasNoFindings()
    {
        var spec = Lab.Spec(backend: "ovs");
        Assert.Empty(Doctor.CheckHost(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2, 3), HostFacts.None));
    }

    [Fact]
    public void AMissingAndAnUnprotectedTunnelPortAreNamedPerPeer()
    {
        var spec = Lab.Spec(backend: "ovs");
        var host = Lab.Converged(spec, 2, 3);
        var bridge = host.Ovs!.Bridges[0];
        var broken = host with
        {
            Ovs = new OvsState([bridge with
            {
                Ports = bridge.Ports.Where(p => p.Name != "vx-c000020d").Select(p => p.Name == "vx-c000020c" ? p with { Protected = false } : p).ToList(),
            }]),
        };
        var findings = Doctor.CheckHost(Lab.Input(spec, broken, 2, 3), HostFacts.None);
        Assert.All(findings, f => Assert.Equal(("peers", Severity.Error), (f.Check, f.Severity)));
        Assert.Equal([
            "peer node2 (10.244.2.0/24): vx-c000020c is not protected: broadcasts can loop through the mesh",
            "peer node3 (10.244.3.0/24): no tunnel port vx-c000020d on br-overlay",
        ], findings.Select(f => f.Problem));
    }

    [Fact]
    public void ANetdevDatapathWithTheUnderlayAddressOffOvsIsAnError()
    {
        var spec = Lab.Spec(backend: "ovs", extra: Netdev);
        var host = Lab.Converged(spec, 2);
        var finding = Assert.Single(Doctor.CheckHost(Lab.Input(spec, host, 2), HostFacts.None));
        Assert.Equal("ovs-underlay", finding.Check);
        Assert.Contains("192.0.2.11 is on eth0, which is not an OVS bridge", finding.Problem, StringComparison.Ordinal);

        // The OVS-DPDK layout: the address on a netdev bridge holding eth0.
        var onBridge = host with
        {
            Addresses = [.. host.Addresses.Select(a => a.Device == "eth0" ? a with { Device = "br-phy" } : a)],
            Links = [.. host.Links, new LinkInfo(9, "br-phy", "tun", 1500, null, true, null, null, null)],
            Ovs = new OvsState([.. host.Ovs!.Bridges, new OvsBridge("br-phy", "netdev", [], new Dictionary<string, string>())]),
        };
        Assert.Empty(Doctor.CheckHost(Lab.Input(spec, onBridge, 2), HostFacts.None));
    }

    [Theory]
    [InlineData("key", "2", "vx-c000020c has VNI (key) 2, not network.vni 1: its packets reach no peer")]
    [InlineData("dst_port", "4789", "vx-c000020c sends to UDP port (dst_port) 4789, not network.port 8472: peers do not listen there")]
    [InlineData("remote_ip", "192.0.2.99", "vx-c000020c is vxlan to 192.0.2.99, not vxlan to 192.0.2.12")]
    public void ATunnelPortPlanWouldResetIsOneDoctorNames(string option, string value, string problem)
    {
        var spec = Lab.Spec(backend: "ovs");
        var host = Lab.Converged(spec, 2);
        var bridge = host.Ovs!.Bridges[0];
        var drifted = host with
        {
            Ovs = new OvsState([bridge with
            {
                Ports = bridge.Ports.Select(p => p.Name == "vx-c000020c" ? p with { Options = new Dictionary<string, string>(p.Options) { [option] = value } } : p).ToList(),
            }]),
        };
        var input = Lab.Input(spec, drifted, 2);
        Assert.Equal(ResourceAddress.OvsPort("vx-c000020c"), Assert.Single(Planner.PlanApply(input).Operations).Address);
        var finding = Assert.Single(Doctor.CheckHost(input, HostFacts.None));
        Assert.Equal(("peers", $"peer node2 (10.244.2.0/24): {problem}"), (finding.Check, finding.Problem));
    }

    [Fact]
    public void AfterAVniChangeDoctorAndPlanAgreeEveryTunnelPortIsWrong()
    {
        var before = Lab.Spec(backend: "ovs");
        var after = Lab.Spec(backend: "ovs", extra: "  vni: 2");
        var input = Lab.Input(after, Lab.Converged(before, 2, 3), 2, 3);
        Assert.Equal([ResourceAddress.OvsPort("vx-c000020c"), ResourceAddress.OvsPort("vx-c000020d")], Planner.PlanApply(input).Operations.Select(o => o.Address));
        Assert.Equal(["peers", "peers"], Doctor.CheckHost(input, HostFacts.None).Select(f => f.Check));
    }
}
