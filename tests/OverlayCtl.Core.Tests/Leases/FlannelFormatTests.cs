using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Tests.Leases;

public sealed class FlannelFormatTests
{
    [Fact]
    public void AVxlanLeaseIsWrittenExactlyAsFlannelWritesIt()
    {
        var lease = new Lease(Ipv4Cidr.Parse("10.5.72.0/24"), Ipv4Address.Parse("192.168.64.3"), "vxlan", 1, MacAddress.Parse("c6:d2:32:6f:8f:44"));
        Assert.Equal("""{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}""", FlannelFormat.SerializeLease(lease));
        Assert.Equal("/coreos.com/network/subnets/10.5.72.0-24", FlannelFormat.LeaseKey("/coreos.com/network", lease.Subnet));
    }

    [Fact]
    public void AHostGwLeaseHasNoBackendData()
    {
        var lease = new Lease(Ipv4Cidr.Parse("10.5.72.0/24"), Ipv4Address.Parse("192.168.64.3"), "host-gw", null, null);
        Assert.Equal("""{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"host-gw"}""", FlannelFormat.SerializeLease(lease));
    }

    [Fact]
    public void LeasesWrittenByFlannelParseIncludingUnknownFields()
    {
        var lease = FlannelFormat.ParseLease(Ipv4Cidr.Parse("10.5.34.0/24"),
            """{"PublicIP":"192.168.1.12","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"C6:D2:32:6F:8F:44"},"Extra":7}""");
        Assert.NotNull(lease);
        Assert.Equal("192.168.1.12", lease.PublicIp.ToString());
        Assert.Equal("c6:d2:32:6f:8f:44", lease.VtepMac?.Text);
        Assert.Equal(1, lease.Vni);
        Assert.Null(FlannelFormat.ParseLease(lease.Subnet, "not json"));
    }

    [Fact]
    public void TheConfigRoundTripsAndFlannelDefaultsFillGaps()
    {
        var config = new NetworkConfig(Ipv4Cidr.Parse("10.5.0.0/16"), 24, Ipv4Address.Parse("10.5.1.0"), Ipv4Address.Parse("10.5.255.0"), "vxlan", 1, 8472);
        var json = FlannelFormat.SerializeConfig(config);
        Assert.Equal("""{"Network":"10.5.0.0/16","SubnetLen":24,"SubnetMin":"10.5.1.0","SubnetMax":"10.5.255.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}""", json);
        Assert.Equal(config, FlannelFormat.ParseConfig(json));
        Assert.Equal(config with { BackendType = "udp", Vni = null, Port = null }, FlannelFormat.ParseConfig("""{"Network":"10.5.0.0/16"}"""));
    }

    [Theory]
    [InlineData("/coreos.com/network/subnets/10.5.72.0-24", true)]
    [InlineData("/coreos.com/network/subnets/10.5.72.1-24", false)]
    [InlineData("/coreos.com/network/config", false)]
    public void LeaseKeysParseOnlyWhenAligned(string key, bool ok) => Assert.Equal(ok, FlannelFormat.TryParseLeaseKey("/coreos.com/network", key, out _));
}
