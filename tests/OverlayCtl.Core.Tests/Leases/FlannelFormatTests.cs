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
    public void AWireGuardLeaseCarriesOnlyThePublicKeyAndPortAsFlannelWritesThem()
    {
        var lease = new Lease(Ipv4Cidr.Parse("10.5.72.0/24"), Ipv4Address.Parse("192.168.64.3"), "wireguard", null, null,
            PublicKey: "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWX/0=", Port: 51820);
        var json = FlannelFormat.SerializeLease(lease);
        Assert.Equal("""{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWX/0=","Port":51820}}""", json);
        Assert.Equal(lease, FlannelFormat.ParseLease(lease.Subnet, json, out _));
    }

    [Fact]
    public void AWireGuardLeaseFlannelPutIsAPeer()
    {
        // As flannel's wireguard backend writes it (its Go struct's field order), and an older one without Port.
        var lease = FlannelFormat.ParseLease(Ipv4Cidr.Parse("10.5.34.0/24"),
            """{"PublicIP":"192.168.1.12","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=","Port":51821}}""", out _);
        Assert.NotNull(lease);
        Assert.Equal(("wireguard", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", (int?)51821), (lease.BackendType, lease.PublicKey, lease.Port));
        var older = FlannelFormat.ParseLease(Ipv4Cidr.Parse("10.5.35.0/24"),
            """{"PublicIP":"192.168.1.13","BackendType":"wireguard","BackendData":{"PublicKey":"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="}}""", out _);
        Assert.Null(older!.Port);
    }

    [Fact]
    public void LeasesWrittenByFlannelParseIncludingUnknownFields()
    {
        var lease = FlannelFormat.ParseLease(Ipv4Cidr.Parse("10.5.34.0/24"),
            """{"PublicIP":"192.168.1.12","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"C6:D2:32:6F:8F:44"},"Extra":7}""", out _);
        Assert.NotNull(lease);
        Assert.Equal("192.168.1.12", lease.PublicIp.ToString());
        Assert.Equal("c6:d2:32:6f:8f:44", lease.VtepMac?.Text);
        Assert.Equal(1, lease.Vni);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[]", "JSON array")]
    [InlineData("42", "JSON number")]
    [InlineData("{}", "no PublicIP")]
    [InlineData("""{"PublicIP":"fd00::1"}""", "no PublicIP")]
    public void AValueThatIsNotALeaseSaysWhy(string value, string problem)
    {
        Assert.Null(FlannelFormat.ParseLease(Ipv4Cidr.Parse("10.5.34.0/24"), value, out var why));
        Assert.Contains(problem, why, StringComparison.Ordinal);
    }

    [Fact]
    public void NumbersOfTheWrongKindCountAsAbsentInsteadOfThrowing()
    {
        var lease = FlannelFormat.ParseLease(Ipv4Cidr.Parse("10.5.34.0/24"), """{"PublicIP":"192.168.1.12","BackendType":"vxlan","BackendData":{"VNI":"1"}}""", out _);
        Assert.Null(lease!.Vni);
        Assert.Null(FlannelFormat.ParseConfig("42"));
        Assert.Null(FlannelFormat.ParseConfig("[]"));
        Assert.Equal(24, FlannelFormat.ParseConfig("""{"Network":"10.5.0.0/16","SubnetLen":"x","Backend":{"VNI":[]}}""")!.SubnetLen);
    }

    [Fact]
    public void TheConfigRoundTripsAndFlannelDefaultsFillGaps()
    {
        var config = new NetworkConfig(Ipv4Cidr.Parse("10.5.0.0/16"), 24, Ipv4Address.Parse("10.5.1.0"), Ipv4Address.Parse("10.5.255.0"), "vxlan", 1, 8472);
        var json = FlannelFormat.SerializeConfig(config);
        Assert.Equal("""{"Network":"10.5.0.0/16","SubnetLen":24,"SubnetMin":"10.5.1.0","SubnetMax":"10.5.255.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}""", json);
        Assert.Equal(config, FlannelFormat.ParseConfig(json));
        Assert.Equal(config with { BackendType = "udp", Vni = null, Port = null }, FlannelFormat.ParseConfig("""{"Network":"10.5.0.0/16"}"""));
        // flannel's wireguard keys (PersistentKeepaliveInterval in seconds).
        var wireguard = config with { BackendType = "wireguard", Vni = null, Port = null, ListenPort = 51000, PersistentKeepaliveInterval = 25 };
        Assert.Equal(wireguard, FlannelFormat.ParseConfig(FlannelFormat.SerializeConfig(wireguard)));
    }

    [Theory]
    [InlineData("10.5.72.0-24", "10.5.72.0/24", null)]
    [InlineData("10.244.2.0-24&fd00:10:244:2::-64", "10.244.2.0/24", "fd00:10:244:2::/64")]
    [InlineData("fd00:10:244:2::-64", null, "fd00:10:244:2::/64")]
    public void EveryKeyFormFlannelWritesParses(string key, string? v4, string? v6)
    {
        Assert.True(FlannelFormat.TryParseSubnetKey(key, out var subnet, out var subnet6));
        Assert.Equal(v4, subnet?.ToString());
        Assert.Equal(v6, subnet6?.ToString());
    }

    [Theory]
    [InlineData("10.5.72.1-24")]
    [InlineData("10.244.2.0-24&fd00:10:244:2::1-64")]
    [InlineData("10.244.2.0-24&10.1.0.0-16")]
    [InlineData("garbage")]
    [InlineData("")]
    public void KeysThatAreNotAlignedSubnetsDoNotParse(string key) => Assert.False(FlannelFormat.TryParseSubnetKey(key, out _, out _));

    [Fact]
    public void ADualStackLeaseKeepsItsKey()
    {
        Assert.True(FlannelFormat.TryParseSubnetKey("10.244.2.0-24&fd00:10:244:2::-64", out var subnet, out var subnet6));
        var lease = new Lease(subnet!.Value, Ipv4Address.Parse("192.168.1.2"), "vxlan", 1, null, Subnet6: subnet6);
        Assert.Equal("/p/subnets/10.244.2.0-24&fd00:10:244:2::-64", FlannelFormat.LeaseKey("/p", lease));
    }
}
