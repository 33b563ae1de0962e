using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Tests.Leases;

public sealed class DualStackLeaseTests
{
    private static readonly Ipv6NetworkConfig Lab6 = new(Ipv6.Parse("fd00:10:244::/48"), 64, Ipv6.Parse("fd00:10:244:1::/64").BaseAddress, Ipv6.Parse("fd00:10:244:ffff::/64").BaseAddress);

    private static readonly Lease Dual = new(Ipv4Cidr.Parse("10.244.2.0/24"), Ipv4Address.Parse("198.18.150.2"), "vxlan", 1, MacAddress.Parse("0a:00:00:00:00:02"),
        Subnet6: Ipv6.Parse("fd00:10:244:2::/64"), PublicIpv6: System.Net.IPAddress.Parse("fd00:198:18:150::2"), VtepMac6: MacAddress.Parse("0a:00:00:00:06:02"));

    [Fact]
    public void ADualStackVxlanLeaseIsWrittenAsFlannelWritesIt()
    {
        Assert.Equal(
            """{"PublicIP":"198.18.150.2","PublicIPv6":"fd00:198:18:150::2","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:02"},"BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:02"}}""",
            FlannelFormat.SerializeLease(Dual));
        Assert.Equal("/p/subnets/10.244.2.0-24&fd00:10:244:2::-64", FlannelFormat.LeaseKey("/p", Dual));
    }

    [Fact]
    public void ADualStackLeaseReadsBackToItself()
    {
        var read = FlannelFormat.ParseLease(Dual.Subnet, FlannelFormat.SerializeLease(Dual), out var problem, subnet6: Dual.Subnet6);
        Assert.Null(problem);
        Assert.Equal(Dual, read);
    }

    [Fact]
    public void AHostGwDualStackLeaseHasNoBackendV6Data() =>
        Assert.Equal("""{"PublicIP":"198.18.150.2","PublicIPv6":"fd00:198:18:150::2","BackendType":"host-gw"}""",
            FlannelFormat.SerializeLease(Dual with { BackendType = "host-gw", Vni = null, VtepMac = null, VtepMac6 = null }));

    [Fact]
    public void TheDualStackConfigCarriesFlannelsIPv6KeysAndRoundTrips()
    {
        var config = new NetworkConfig(Ipv4Cidr.Parse("10.244.0.0/16"), 24, Ipv4Address.Parse("10.244.1.0"), Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472) { Ipv6 = Lab6 };
        var json = FlannelFormat.SerializeConfig(config);
        Assert.Equal("""{"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0","SubnetMax":"10.244.255.0","EnableIPv6":true,"IPv6Network":"fd00:10:244::/48","IPv6SubnetLen":64,"IPv6SubnetMin":"fd00:10:244:1::","IPv6SubnetMax":"fd00:10:244:ffff::","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}""", json);
        Assert.Equal(config, FlannelFormat.ParseConfig(json));
    }

    [Fact]
    public void AFlannelConfigWithOnlyIPv6NetworkGetsFlannelsIPv6Defaults()
    {
        var config = FlannelFormat.ParseConfig("""{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","Backend":{"Type":"vxlan"}}""")!;
        Assert.Equal(new Ipv6NetworkConfig(Ipv6.Parse("fd00:10:244::/56"), 64, Ipv6.Parse("fd00:10:244:1::/64").BaseAddress, Ipv6.Parse("fd00:10:244:ff::/64").BaseAddress), config.Ipv6);
        Assert.Null(FlannelFormat.ParseConfig("""{"Network":"10.244.0.0/16","EnableIPv6":false,"IPv6Network":"fd00:10:244::/56"}""")!.Ipv6);
    }

    [Fact]
    public void ChangingTheIPv6NetworkStrandsButTurningIPv6OnOrOffDoesNot()
    {
        var v4 = new NetworkConfig(Ipv4Cidr.Parse("10.244.0.0/16"), 24, Ipv4Address.Parse("10.244.1.0"), Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472);
        var dual = v4 with { Ipv6 = Lab6 };
        Assert.False(v4.Strands6(dual));
        Assert.False(dual.Strands6(v4));
        Assert.False(dual.Strands6(dual with { Ipv6 = Lab6 with { SubnetMin = Ipv6.Parse("fd00:10:244:10::/64").BaseAddress } }));
        Assert.True(dual.Strands6(dual with { Ipv6 = Lab6 with { SubnetLen = 80 } }));
    }

    [Fact]
    public void IPv6CandidatesStepThroughTheRangeAndSkipWhatIsTaken()
    {
        var small = new Ipv6NetworkConfig(Ipv6.Parse("fd00:10:244:7::/120"), 122, Ipv6.Parse("fd00:10:244:7::40/122").BaseAddress, Ipv6.Parse("fd00:10:244:7::c0/122").BaseAddress);
        Assert.Equal(["fd00:10:244:7::40/122", "fd00:10:244:7::80/122", "fd00:10:244:7::c0/122"], Ipam.Candidates(small).Select(c => c.ToString()));
        Assert.Equal("fd00:10:244:4::/64", Ipam.FirstFree(Lab6, [Ipv6.Parse("fd00:10:244:1::/64"), Ipv6.Parse("fd00:10:244:2::/63")]).ToString());
        Assert.Equal("fd00:10:244:7::80/122", Ipam.FirstFree(small, [Ipv6.Parse("fd00:10:244:7::/121")]).ToString());
        var e = Assert.Throws<LeaseException>(() => Ipam.FirstFree(small, [Ipv6.Parse("fd00:10:244:7::/120")]));
        Assert.Contains("no free IPv6 /122", e.Message, StringComparison.Ordinal);
        Assert.Equal("fd00:10:244:ffff::/64", Ipam.Candidates(Lab6).Last().ToString());
        Assert.Null(Ipam.CheckPin(Lab6, Ipv6.Parse("fd00:10:244:9::/64")));
        Assert.NotNull(Ipam.CheckPin(Lab6, Ipv6.Parse("fd00:10:244::/64")));
    }

    [Fact]
    public void SubnetEnvGetsFlannelsIPv6LinesInFlannelsOrder() =>
        Assert.Equal("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.2.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/48\nFLANNEL_IPV6_SUBNET=fd00:10:244:2::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n",
            DockerFiles.SubnetEnv(Ipv4Cidr.Parse("10.244.0.0/16"), Dual.Subnet, 1450, true, Lab6.Network, Dual.Subnet6));

    [Fact]
    public void DaemonJsonGetsIPv6AndFixedCidrV6AndGivesThemBackOnTheWayToIPv4Only()
    {
        const string Original = """{"log-level":"warn","ipv6":false}""";
        var dual = DockerFiles.MergeDaemonConfig("/d.json", Original, Dual.Subnet, 1450, true, Dual.Subnet6)!;
        Assert.Contains("\"ipv6\": true", dual, StringComparison.Ordinal);
        Assert.Contains("\"fixed-cidr-v6\": \"fd00:10:244:2::/64\"", dual, StringComparison.Ordinal);
        Assert.Contains("\"log-level\": \"warn\"", dual, StringComparison.Ordinal);
        Assert.Null(DockerFiles.MergeDaemonConfig("/d.json", dual, Dual.Subnet, 1450, true, Dual.Subnet6, Original));

        var back = DockerFiles.MergeDaemonConfig("/d.json", dual, Dual.Subnet, 1450, true, null, Original)!;
        Assert.Contains("\"ipv6\": false", back, StringComparison.Ordinal);
        Assert.DoesNotContain("fixed-cidr-v6", back, StringComparison.Ordinal);
        // Without a known original the keys are the operator's: left alone.
        Assert.Null(DockerFiles.MergeDaemonConfig("/d.json", dual, Dual.Subnet, 1450, true));
        Assert.Equal(Original, DockerFiles.RestoreDaemonConfig("/d.json", dual, Original));
    }
}
