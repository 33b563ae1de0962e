using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Backends;

/// <summary>The vxlan backend's keys (vni, port, directRouting), its lease data and which flannel.N devices it calls its own.</summary>
public sealed class VxlanBackendTests
{
    [Fact]
    public void VniPortAndDirectRoutingDefaultAsFlannelDoes() =>
        Assert.Equal(new VxlanSettings(1, 8472, false), VxlanBackend.SettingsOf(SpecText.Load("  backend: vxlan")));

    [Fact]
    public void VniPortAndDirectRoutingAreReadWhereTheSpecAlwaysHadThem()
    {
        var spec = SpecText.Load("  vni: 42\n  port: 4789\n  directRouting: true");
        Assert.Equal(new VxlanSettings(42, 4789, true), VxlanBackend.SettingsOf(spec));
        Assert.Equal("flannel.42", spec.Network.Backend.Device(spec));
    }

    [Theory]
    [InlineData("  vni: 16777216", "c.yaml:6:8: vni 16777216 is out of range (fix: use a value from 0 to 16777215)")]
    [InlineData("  port: 0", "c.yaml:6:9: port 0 is out of range (fix: use a value from 1 to 65535)")]
    [InlineData("  vni: one", "c.yaml:6:8: vni 'one' is not a whole number (fix: write a number from 0 to 16777215)")]
    [InlineData("  directRouting: yes", "c.yaml:6:18: directRouting 'yes' is not a boolean (fix: write true or false)")]
    [InlineData("  backend: ovs\n  directRouting: true", "c.yaml:7:18: directRouting applies to the vxlan backend only (fix: remove directRouting, or use backend: vxlan)")]
    [InlineData("  backend: host-gw\n  directRouting: true", "c.yaml:7:18: directRouting applies to the vxlan backend only (fix: remove directRouting, or use backend: vxlan)")]
    [InlineData("  backend: host-gw\n  vxlan:\n    txChecksumOffload: false", "c.yaml:8:24: network.vxlan.txChecksumOffload applies to the vxlan backend only (fix: remove it, or use backend: vxlan)")]
    [InlineData("  vxlan:\n    txChecksumOfload: false", "c.yaml:7:5: unknown key 'txChecksumOfload' in network.vxlan (fix: did you mean 'txChecksumOffload'?)")]
    public void ABadVxlanKeyIsLocatedWithTheFix(string network, string expected) =>
        Assert.Equal([expected], SpecText.Errors(network));

    [Fact]
    public void TheLeaseCarriesTheVniAndTheHostsVtepMac()
    {
        var spec = SpecText.Load("  vni: 3");
        var data = spec.Network.Backend.LeaseData(spec, spec.Hosts[0], null);
        Assert.Equal((3, MacAddress.ForVtep(spec.Network.Cidr, Ipv4Address.Parse("192.0.2.1"))), (data.Vni, data.VtepMac));
    }

    [Fact]
    public void OnlyAMarkedFlannelDeviceForAnotherVniIsOurs()
    {
        var spec = Lab.Spec(extra: "  vni: 2");
        LinkInfo Vxlan(string name, int id, string? alias) => new(9, name, "vxlan", 1450, null, true, null, alias, new VxlanInfo(id, null, "eth0", 8472, false));
        var host = Lab.Fresh() with
        {
            Links = [.. Lab.Fresh().Links, Vxlan("flannel.1", 1, "overlayctl"), Vxlan("flannel.2", 2, "overlayctl"), Vxlan("flannel.7", 7, null),
                new LinkInfo(10, "flannel.x", "vxlan", 1450, null, true, null, "overlayctl", null),
                new LinkInfo(11, "flannel.3", "bridge", 1500, null, true, null, "overlayctl", null)],
        };
        Assert.Equal(["flannel.1"], VxlanBackend.StaleDevices(spec, host, marked: true).Select(l => l.Name));
        Assert.Equal(["flannel.1", "flannel.7"], VxlanBackend.StaleDevices(spec, host, marked: false).Select(l => l.Name));
        Assert.Equal(["flannel.2", "flannel-v6.2", "flannel.1"], spec.Network.Backend.OwnedDevices(spec, host));
    }

    [Fact]
    public void ChecksumOffloadIsLeftAloneUnlessTheSpecSaysAndThenEnforcedAndChecked()
    {
        var unset = Lab.Spec();
        Assert.Null(VxlanBackend.SettingsOf(unset).TxChecksumOffload);
        Assert.Empty(unset.Network.Backend.Reads(unset, unset.Hosts[0], selected: true));
        var on = Lab.Converged(unset, 2) with { TxChecksumOffload = new Dictionary<string, bool> { ["flannel.1"] = true } };
        Assert.Empty(Planner.PlanApply(Lab.Input(unset, on, 2)).Operations);
        Assert.Empty(Doctor.CheckHost(Lab.Input(unset, on, 2), HostFacts.None));

        var off = Lab.Spec(extra: "  vxlan:\n    txChecksumOffload: false");
        Assert.Equal([new HostRead.TxChecksumOffload("flannel.1")], off.Network.Backend.Reads(off, off.Hosts[0], selected: true));
        var change = Assert.Single(Planner.PlanApply(Lab.Input(off, on, 2)).Operations);
        Assert.Equal(("~ link flannel.1 tx-checksum-offload", "ethtool -K flannel.1 tx-checksum-ip-generic off"), ($"{change.Sign} {change.Address}", change.Render()));
        var finding = Assert.Single(Doctor.CheckHost(Lab.Input(off, on, 2), HostFacts.None));
        Assert.Equal(("checksum-offload", "tx checksum offload is on for flannel.1, but network.vxlan.txChecksumOffload is false"), (finding.Check, finding.Problem));

        var converged = on with { TxChecksumOffload = new Dictionary<string, bool> { ["flannel.1"] = false } };
        Assert.Empty(Planner.PlanApply(Lab.Input(off, converged, 2)).Operations);
        Assert.Empty(Doctor.CheckHost(Lab.Input(off, converged, 2), HostFacts.None));
        // A device apply creates is set right after it is made.
        Assert.Contains(Planner.PlanApply(Lab.Input(off, Lab.Fresh(), 2)).Operations, o => o.Kind == ChangeKind.Add && o.Render() == "ethtool -K flannel.1 tx-checksum-ip-generic off");
    }
}
