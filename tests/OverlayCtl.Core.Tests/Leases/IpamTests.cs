using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Tests.Leases;

public sealed class IpamTests
{
    private static NetworkConfig Config(string cidr, int length, string min, string max) =>
        new(Ipv4Cidr.Parse(cidr), length, Ipv4Address.Parse(min), Ipv4Address.Parse(max), "vxlan", 1, 8472);

    private static readonly NetworkConfig Lab = Config("10.244.0.0/16", 24, "10.244.1.0", "10.244.255.0");

    [Fact]
    public void CandidatesRunFromSubnetMinToSubnetMaxInclusive()
    {
        var all = Ipam.Candidates(Lab).ToList();
        Assert.Equal(255, all.Count);
        Assert.Equal(255, Ipam.CandidateCount(Lab));
        Assert.Equal("10.244.1.0/24", all[0].ToString());
        Assert.Equal("10.244.255.0/24", all[^1].ToString());
    }

    [Fact]
    public void FirstFreeSkipsTakenSubnetsOfAnySize()
    {
        var taken = new[] { Ipv4Cidr.Parse("10.244.1.0/24"), Ipv4Cidr.Parse("10.244.2.0/23") };
        Assert.Equal("10.244.4.0/24", Ipam.FirstFree(Lab, taken).ToString());
    }

    [Fact]
    public void PickFreeChoosesAmongTheFirstHundredFree()
    {
        var random = new Random(7);
        for (var i = 0; i < 50; i++)
        {
            var pick = Ipam.PickFree(Lab, [Ipv4Cidr.Parse("10.244.1.0/24")], random);
            Assert.InRange(pick.Network.Value, Ipv4Address.Parse("10.244.2.0").Value, Ipv4Address.Parse("10.244.101.0").Value);
        }
    }

    [Fact]
    public void ExhaustionNamesTheRangeAndTheWayOut()
    {
        var tiny = Config("10.9.0.0/30", 31, "10.9.0.2", "10.9.0.2");
        var e = Assert.Throws<LeaseException>(() => Ipam.FirstFree(tiny, [Ipv4Cidr.Parse("10.9.0.2/31")]));
        Assert.Equal("no free /31 left in 10.9.0.2-10.9.0.2 (1 leases held, 1 subnets in the range); widen network.cidr or subnetMin/subnetMax, or release stale leases (overlayctl leases gc)", e.Message);
    }

    [Fact]
    public void FourThousandSubnetsOfASlashTwelveAreAllFoundFree()
    {
        var big = Config("10.0.0.0/12", 24, "10.0.0.0", "10.15.255.0");
        Assert.Equal(4096, Ipam.Free(big, []).Count());
        var half = Ipam.Candidates(big).Where((_, i) => i % 2 == 0).ToList();
        Assert.Equal(2048, Ipam.Free(big, half).Count());
    }

    [Theory]
    [InlineData("10.244.5.0/24", null)]
    [InlineData("10.244.5.0/25", "10.244.5.0/25 is not a /24")]
    [InlineData("10.244.0.0/24", "10.244.0.0/24 is outside the lease range 10.244.1.0-10.244.255.0")]
    public void PinsMustFitTheRange(string pin, string? problem) => Assert.Equal(problem, Ipam.CheckPin(Lab, Ipv4Cidr.Parse(pin)));
}
