using OverlayCtl.Core.Backends.Ovs;

namespace OverlayCtl.Core.Tests.Backends;

/// <summary>The ovs backend's section (network.ovs), read whatever the backend, and its lease data.</summary>
public sealed class OvsBackendTests
{
    [Fact]
    public void WithoutAnOvsSectionTheDefaultsHold() =>
        Assert.Equal(new OvsSettings("br-overlay", null, "system"), OvsBackend.SettingsOf(SpecText.Load("  backend: ovs")));

    [Fact]
    public void TheOvsSectionIsReadEvenWhenAnotherBackendIsSelected()
    {
        // lab up starts OVS daemons from it, and a switch away from ovs must still find the bridge.
        var spec = SpecText.Load("  backend: host-gw\n  ovs: { bridge: br-x, db: \"unix:/run/ovs/{host}/db.sock\", datapathType: netdev }");
        Assert.Equal(new OvsSettings("br-x", "unix:/run/ovs/{host}/db.sock", "netdev"), OvsBackend.SettingsOf(spec));
        Assert.Equal("unix:/run/ovs/a/db.sock", OvsBackend.SettingsOf(spec).DbFor(spec.Hosts[0]));
    }

    [Theory]
    [InlineData("  ovs: { datapathType: dpdk }", "c.yaml:6:24: datapathType 'dpdk' is not known (fix: use system (kernel datapath) or netdev (userspace))")]
    [InlineData("  ovs: { db: tcp:h:6640 x }", "c.yaml:6:14: 'tcp:h:6640 x' is not an OVS database address (fix: write unix:/path/to/db.sock or tcp:HOST:PORT)")]
    [InlineData("  ovs: { bridg: br-x }", "c.yaml:6:10: unknown key 'bridg' in network.ovs (fix: did you mean 'bridge'?)")]
    [InlineData("  ovs: { bridge: \"br x\" }", "c.yaml:6:18: ovs.bridge 'br x' is not a valid Linux interface name (fix: use 1-15 letters, digits, '_', '.' or '-')")]
    [InlineData("  ovs: br-x", "c.yaml:6:8: network.ovs must be a mapping (key: value lines) (fix: write network.ovs as keys: bridge, db, datapathType)")]
    public void ABadOvsKeyIsLocatedWithTheFix(string network, string expected) =>
        Assert.Equal([expected], SpecText.Errors(network));

    [Fact]
    public void ADockerBridgeNamedAsTheDefaultOvsBridgeIsRefusedAtDockerBridge() =>
        Assert.Equal(
            ["c.yaml:7:19: br-overlay cannot be both docker.bridge and network.ovs.bridge (fix: give the OVS bridge a name of its own (default br-overlay))"],
            SpecText.Errors("  backend: ovs", "docker: { bridge: br-overlay }"));

    [Fact]
    public void TheLeaseCarriesTheVniAndNoMac()
    {
        var spec = SpecText.Load("  backend: ovs\n  vni: 9");
        Assert.Equal(new Core.Backends.LeaseData(9, null), spec.Network.Backend.LeaseData(spec, spec.Hosts[0], null));
    }
}
