using OverlayCtl.Core.Net;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Tests.Support;

namespace OverlayCtl.Hosts.Tests.Observe;

public sealed class StateParsersTests
{
    [Fact]
    public void LinksCarryKindMacAliasAndVxlanParameters()
    {
        var links = StateParsers.ParseLinks(Fixture.Read("ip-link.json"));
        var vxlan = links.Single(l => l.Name == "flannel.1");
        Assert.Equal("vxlan", vxlan.Kind);
        Assert.Equal(1450, vxlan.Mtu);
        Assert.Equal("02:11:22:33:44:55", vxlan.Mac?.Text);
        Assert.True(vxlan.Up);
        Assert.Equal(1, vxlan.Vxlan!.Id);
        Assert.Equal("192.0.2.5", vxlan.Vxlan.Local?.ToString());
        Assert.Equal("eth0", vxlan.Vxlan.Device);
        Assert.Equal(8472, vxlan.Vxlan.Port);
        Assert.False(vxlan.Vxlan.Learning);
        var bridge = links.Single(l => l.Name == "docker0");
        Assert.Equal(("bridge", "overlayctl", false), (bridge.Kind, bridge.Alias, bridge.Up));
    }

    [Fact]
    public void AddressesRoutesNeighboursAndFdbParse()
    {
        Assert.Contains(StateParsers.ParseAddresses(Fixture.Read("ip-addr.json")), a => a.Device == "flannel.1" && a.Address.ToString() == "10.244.1.0/32");
        var route = StateParsers.ParseRoutes(Fixture.Read("ip-route.json")).Single(r => r.Device == "flannel.1");
        Assert.Equal((Ipv4Cidr.Parse("10.244.3.0/24"), "10.244.3.0", true, "211"), (route.Destination!.Value, route.Gateway.ToString(), route.Onlink, route.Protocol));
        var neighbor = Assert.Single(StateParsers.ParseNeighbors(Fixture.Read("ip-neigh.json")));
        Assert.Equal(("10.244.3.0", "02:aa:bb:cc:dd:ee", true), (neighbor.Address.ToString(), neighbor.LinkAddress?.Text, neighbor.Permanent));
        var fdb = StateParsers.ParseFdb(Fixture.Read("bridge-fdb.json")).Single(f => f.Device == "flannel.1");
        Assert.Equal(("192.0.2.6", true, true), (fdb.Destination.ToString(), fdb.Self, fdb.Permanent));
    }

    [Fact]
    public void IptablesSaveKeepsPoliciesAndRuleLinesVerbatim()
    {
        var state = StateParsers.ParseIptablesSave(Fixture.Read("iptables-save.txt"));
        Assert.Equal("DROP", state.Table("filter").Chains["FORWARD"]);
        Assert.Null(state.Table("filter").Chains["OVERLAYCTL-FWD"]);
        Assert.Equal(["-A FORWARD -m comment --comment overlayctl -j OVERLAYCTL-FWD"], state.Table("filter").RulesOf("FORWARD"));
        Assert.Contains("-A OVERLAYCTL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully", state.Table("nat").Rules);
        Assert.Empty(state.Table("mangle").Rules);
    }

    [Fact]
    public void OvsTablesJoinIntoBridgesWithTheirPortsAndOptions()
    {
        // Captured from a lab host after an ovs apply: br-phy holds the underlay, br-overlay is overlayctl's.
        var ovs = OvsObserver.Parse(Fixture.Read("ovs-list.json"));
        Assert.Equal(["br-overlay", "br-phy"], ovs.Bridges.Select(b => b.Name).Order(StringComparer.Ordinal));
        var bridge = ovs.FindBridge("br-overlay")!;
        Assert.Equal("netdev", bridge.DatapathType);
        Assert.Equal("ovst", bridge.ExternalIds["overlayctl-cluster"]);
        Assert.Empty(ovs.FindBridge("br-phy")!.ExternalIds);
        Assert.Equal(["br-overlay", "vx-c000022a", "vx-c000022b"], bridge.Ports.Select(p => p.Name));
        Assert.Equal(1450, bridge.FindPort("br-overlay")!.Mtu);
        var port = bridge.FindPort("vx-c000022a")!;
        Assert.Equal(("vxlan", true), (port.Type, port.Protected));
        Assert.Equal("192.0.2.42", port.Options["remote_ip"]);
        Assert.Equal("1", port.Options["key"]);
        Assert.Equal("8472", port.Options["dst_port"]);
        Assert.Equal(("internal", false), (bridge.FindPort("br-overlay")!.Type, bridge.FindPort("br-overlay")!.Protected));
    }

    [Fact]
    public void OvsOutputWithoutThreeTablesIsAnError()
    {
        Assert.Throws<FormatException>(() => OvsObserver.Parse("{\"data\":[],\"headings\":[]}"));
    }

    [Fact]
    public void EmptyAndIpv6OnlyOutputsParseToNothing()
    {
        Assert.Empty(StateParsers.ParseLinks(""));
        Assert.Empty(StateParsers.ParseRoutes("""[{"dst":"fe80::/64","dev":"eth0"}]"""));
        Assert.Empty(StateParsers.ParseIptablesSave("").Tables);
    }

    [Theory]
    [InlineData("Features for flannel.1:\nrx-checksumming: on\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\n\ttx-checksum-ip-generic: on\n", true)]
    [InlineData("Features for flannel.1:\ntx-checksumming: off\n\ttx-checksum-ip-generic: off\n", false)]
    [InlineData("Features for flannel.1:\ntx-checksumming: off\n\ttx-checksum-ip-generic: off [fixed]\n", false)]
    [InlineData("Features for lo:\nrx-checksumming: on [fixed]\n", null)]
    public void TxChecksumOffloadIsReadFromEthtool(string ethtool, bool? expected) =>
        Assert.Equal(expected, StateParsers.ParseTxChecksumOffload(ethtool));
}
