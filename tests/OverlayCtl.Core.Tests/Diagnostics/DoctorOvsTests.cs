using OverlayCtl.Core.Diagnostics;
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
}
