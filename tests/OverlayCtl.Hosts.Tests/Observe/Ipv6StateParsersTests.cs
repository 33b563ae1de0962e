using OverlayCtl.Hosts.Observe;

namespace OverlayCtl.Hosts.Tests.Observe;

/// <summary>The IPv6 readers, on what ip -j -6, bridge -j and ip -d -j printed on a namespace with flannel-v6.1 (iproute2 6.1).</summary>
public sealed class Ipv6StateParsersTests
{
    [Fact]
    public void OnlyGlobalAddressesAreKept() =>
        Assert.Equal(["v0 fd00:198:18:150::1/64", "flannel-v6.1 fd00:10:244:2::/128"], StateParsers.ParseAddresses6("""
            [{"ifindex":4,"ifname":"v0","addr_info":[{"family":"inet6","local":"fd00:198:18:150::1","prefixlen":64,"scope":"global","nodad":true}]},
             {"ifindex":5,"ifname":"flannel-v6.1","addr_info":[{"family":"inet6","local":"fd00:10:244:2::","prefixlen":128,"scope":"global","nodad":true},
               {"family":"inet6","local":"fe80::7c24:7dff:fe28:cfec","prefixlen":64,"scope":"link","tentative":true}]}]
            """).Select(a => $"{a.Device} {a}"));

    [Fact]
    public void RoutesReadAHostRouteWithoutALengthAsA128()
    {
        var routes = StateParsers.ParseRoutes6("""
            [{"dst":"fd00:10:244:2::","dev":"flannel-v6.1","protocol":"kernel","metric":256,"flags":[]},
             {"dst":"fd00:10:244:3::/64","gateway":"fd00:10:244:3::","dev":"flannel-v6.1","protocol":"211","metric":1024,"flags":["onlink"]},
             {"dst":"default","gateway":"fd00:198:18:150::1","dev":"v0","protocol":"static","flags":[]},
             {"type":"multicast","dst":"ff00::/8","dev":"v0","protocol":"kernel","flags":[]}]
            """);
        Assert.Equal(
            ["fd00:10:244:2::/128 - flannel-v6.1 False kernel", "fd00:10:244:3::/64 fd00:10:244:3:: flannel-v6.1 True 211", "default fd00:198:18:150::1 v0 False static"],
            routes.Select(r => $"{r.Destination?.ToString() ?? "default"} {r.Gateway?.ToString() ?? "-"} {r.Device} {r.Onlink} {r.Protocol}"));
    }

    [Fact]
    public void NeighboursAndFdbEntriesToAnIPv6DestinationAreRead()
    {
        var neighbour = Assert.Single(StateParsers.ParseNeighbors6("""[{"dst":"fd00:10:244:3::","dev":"flannel-v6.1","lladdr":"0a:00:00:00:06:03","state":["PERMANENT"]}]"""));
        Assert.Equal(("fd00:10:244:3::", "flannel-v6.1", "0a:00:00:00:06:03", true), (neighbour.Address.ToString(), neighbour.Device, neighbour.LinkAddress?.Text, neighbour.Permanent));
        var fdb = Assert.Single(StateParsers.ParseFdb6("""
            [{"mac":"0a:00:00:00:06:03","ifname":"flannel-v6.1","dst":"fd00:198:18:150::3","flags":["self"],"state":"permanent"},
             {"mac":"0a:00:00:00:00:03","ifname":"flannel.1","dst":"192.0.2.3","flags":["self"],"state":"permanent"}]
            """));
        Assert.Equal(("flannel-v6.1", "fd00:198:18:150::3", true), (fdb.Device, fdb.Destination.ToString(), fdb.Permanent));
    }

    [Fact]
    public void AVxlanDeviceOverIPv6HasItsLocal6()
    {
        var link = Assert.Single(StateParsers.ParseLinks("""
            [{"ifindex":5,"ifname":"flannel-v6.1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1430,"address":"0a:00:00:00:06:01",
              "linkinfo":{"info_kind":"vxlan","info_data":{"id":1,"local6":"fd00:198:18:150::1","link":"v0","port":8472,"learning":false}}}]
            """));
        Assert.Equal(("fd00:198:18:150::1", null, 1), (link.Vxlan!.Local6?.ToString(), link.Vxlan.Local, link.Vxlan.Id));
    }
}
