using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Diagnostics;

/// <summary>doctor on a vxlan host: silence when converged, and a flannel.N left from another VNI named either way.</summary>
public sealed class DoctorVxlanTests
{
    private static ObservedHost WithOldDevice(ObservedHost host, string? alias) => host with
    {
        Links = [.. host.Links, new LinkInfo(8, "flannel.1", "vxlan", 1450, null, true, null, alias, new VxlanInfo(1, Ipv4Address.Parse("192.0.2.11"), "eth0", 8472, false))],
    };

    [Fact]
    public void AConvergedVxlanHostHasNoFindings()
    {
        var spec = Lab.Spec();
        Assert.Empty(Doctor.CheckHost(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2, 3), HostFacts.None));
    }

    [Fact]
    public void AnOldDeviceOverlayctlMadeIsNamedWithApplyAsTheFix()
    {
        var spec = Lab.Spec(extra: "  vni: 2");
        var finding = Assert.Single(Doctor.CheckHost(Lab.Input(spec, WithOldDevice(Lab.Converged(spec, 2), "overlayctl"), 2), HostFacts.None));
        Assert.Equal(("stale-device", Severity.Warning), (finding.Check, finding.Severity));
        Assert.StartsWith("flannel.1 is a VXLAN device overlayctl made for VNI 1, but network.vni is 2", finding.Problem, StringComparison.Ordinal);
        Assert.Equal("overlayctl apply (removes flannel.1)", finding.Fix);
    }

    [Fact]
    public void AnOldDeviceSomeoneElseMadeIsNamedButLeftToTheOperator()
    {
        var spec = Lab.Spec(extra: "  vni: 2");
        var finding = Assert.Single(Doctor.CheckHost(Lab.Input(spec, WithOldDevice(Lab.Converged(spec, 2), null), 2), HostFacts.None));
        Assert.Equal("stale-device", finding.Check);
        Assert.StartsWith("ip link del flannel.1", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void TheChecksDoctorListsAreTheGenericOnesAndTheSelectedBackends()
    {
        var vxlan = Doctor.ChecksFor(Lab.Spec().Network.Backend).Select(c => c.Name).ToList();
        Assert.Contains("stale-device", vxlan);
        Assert.DoesNotContain("ovs-underlay", vxlan);
        var hostGw = Doctor.ChecksFor(Lab.Spec("host-gw").Network.Backend).Select(c => c.Name);
        Assert.Equal(["underlay", "ip-forward", "forward-policy", "mtu", "docker-bridge", "docker-bip", "docker-masquerade", "rp-filter", "leases"], hostGw);
    }

    [Fact]
    public void ADockerBridgeThatIsDownOrMissingOrWithoutTheGatewayIsAnError()
    {
        var spec = Lab.Spec();
        var converged = Lab.Converged(spec, 2);
        var down = converged with { Links = converged.Links.Select(l => l.Name == "docker0" ? l with { Up = false } : l).ToList() };
        var finding = Assert.Single(Doctor.CheckHost(Lab.Input(spec, down, 2), HostFacts.None));
        Assert.Equal(("docker-bridge", "the docker bridge docker0 is down: containers on this host reach nothing"), (finding.Check, finding.Problem));
        var bare = converged with { Addresses = converged.Addresses.Where(a => a.Device != "docker0").ToList() };
        Assert.Contains("does not hold 10.244.1.1/24", Assert.Single(Doctor.CheckHost(Lab.Input(spec, bare, 2), HostFacts.None)).Problem, StringComparison.Ordinal);
        var gone = converged with { Links = converged.Links.Where(l => l.Name != "docker0").ToList() };
        Assert.Contains(Doctor.CheckHost(Lab.Input(spec, gone, 2), HostFacts.None), f => f.Problem == "the docker bridge docker0 does not exist: containers on this host have no network");
    }
}
