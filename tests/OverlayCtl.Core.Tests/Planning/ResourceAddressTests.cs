using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Core.Tests.Planning;

public sealed class ResourceAddressTests
{
    [Fact]
    public void EveryKindRendersAsPlansHaveAlwaysNamedIt()
    {
        Assert.Equal(
            [
                "link flannel.1", "link flannel.1 alias", "address 10.244.1.0/32 on flannel.1", "neigh 10.244.2.0",
                "fdb 6e:9a:db:69:95:4f", "route 10.244.2.0/24", "sysctl net.ipv4.ip_forward", "iptables filter OVERLAYCTL-FWD",
                "iptables filter FORWARD jump", "file /run/flannel/subnet.env", "ovs bridge br-overlay", "ovs bridge br-overlay mtu",
                "ovs port vx-c000020c",
            ],
            new[]
            {
                ResourceAddress.Link("flannel.1"), ResourceAddress.Link("flannel.1", "alias"),
                ResourceAddress.Address(new InterfaceAddress(Ipv4Address.Parse("10.244.1.0"), 32), "flannel.1"), ResourceAddress.Neighbour(Ipv4Address.Parse("10.244.2.0")),
                ResourceAddress.Fdb(MacAddress.Parse("6e:9a:db:69:95:4f")), ResourceAddress.Route(Ipv4Cidr.Parse("10.244.2.0/24")),
                ResourceAddress.Sysctl("net.ipv4.ip_forward"), ResourceAddress.IptablesChain("filter", "OVERLAYCTL-FWD"),
                ResourceAddress.IptablesJump("filter", "FORWARD"), ResourceAddress.File("/run/flannel/subnet.env"),
                ResourceAddress.OvsBridge("br-overlay"), ResourceAddress.OvsBridge("br-overlay", "mtu"), ResourceAddress.OvsPort("vx-c000020c"),
            }.Select(a => a.ToString()));
    }

    [Fact]
    public void AddressesWithTheSameKindNameAndAttributeAreEqual() =>
        Assert.Equal(ResourceAddress.Route(Ipv4Cidr.Parse("10.244.2.0/24")), new ResourceAddress(ResourceKind.Route, "10.244.2.0/24"));

    [Fact]
    public void ASummaryNamesReplacementsOnlyWhenThereAreSome()
    {
        var add = new Operation(ChangeKind.Add, ResourceAddress.Sysctl("net.ipv4.ip_forward"), new IpStep(["x"]));
        var replace = Ops.Replace(ResourceAddress.Link("flannel.1"), new IpStep(["link", "del", "flannel.1"]), new IpStep(["link", "add", "flannel.1"]));
        Assert.Equal("h: 1 to add, 0 to change, 0 to remove", new HostPlan("h", [add]).Summary);
        Assert.Equal("h: 1 to add, 0 to change, 1 to replace, 0 to remove", new HostPlan("h", [add, replace]).Summary);
    }
}
