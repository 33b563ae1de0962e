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
        var ovs = OvsObserver.Parse(Fixture.Read("ovs-list.json"));
        var bridge = Assert.Single(ovs.Bridges);
        Assert.Equal(("brx", "netdev"), (bridge.Name, bridge.DatapathType));
        var port = bridge.Ports.Single(p => p.Name == "vxlan-a");
        Assert.Equal("vxlan", port.Type);
        Assert.Equal("192.0.2.2", port.Options["remote_ip"]);
        Assert.Equal("1", port.Options["key"]);
    }

    [Fact]
    public void EmptyAndIpv6OnlyOutputsParseToNothing()
    {
        Assert.Empty(StateParsers.ParseLinks(""));
        Assert.Empty(StateParsers.ParseRoutes("""[{"dst":"fe80::/64","dev":"eth0"}]"""));
        Assert.Empty(StateParsers.ParseIptablesSave("").Tables);
    }
}
