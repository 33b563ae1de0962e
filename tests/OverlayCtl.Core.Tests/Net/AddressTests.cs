using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Tests.Net;

public sealed class AddressTests
{
    [Theory]
    [InlineData("10.0.0.1", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("010.0.0.1", false)]
    [InlineData("10.0.0", false)]
    [InlineData("10.0.0.256", false)]
    [InlineData("10.0.0.1 ", false)]
    [InlineData("-1.0.0.1", false)]
    public void OnlyStrictDottedQuadsParse(string text, bool ok) => Assert.Equal(ok, Ipv4Address.TryParse(text, out _));

    [Fact]
    public void NetworksContainAndOverlapExactly()
    {
        var net = Ipv4Cidr.Parse("10.244.0.0/16");
        Assert.True(net.Contains(Ipv4Cidr.Parse("10.244.5.0/24")));
        Assert.False(net.Contains(Ipv4Cidr.Parse("10.0.0.0/8")));
        Assert.True(Ipv4Cidr.Parse("10.0.0.0/8").Overlaps(net));
        Assert.False(Ipv4Cidr.Parse("10.245.0.0/16").Overlaps(net));
        Assert.Equal("10.244.5.1", Ipv4Cidr.Parse("10.244.5.0/24").Gateway.ToString());
        Assert.False(Ipv4Cidr.TryParse("10.244.5.1/24", out _));
    }

    [Fact]
    public void VtepMacsAreStableLocallyAdministeredAndUnicast()
    {
        var net = Ipv4Cidr.Parse("10.244.0.0/16");
        var a = MacAddress.ForVtep(net, Ipv4Address.Parse("192.0.2.1"));
        Assert.Equal(a, MacAddress.ForVtep(net, Ipv4Address.Parse("192.0.2.1")));
        Assert.NotEqual(a, MacAddress.ForVtep(net, Ipv4Address.Parse("192.0.2.2")));
        var first = Convert.ToByte(a.Text[..2], 16);
        Assert.Equal(0x02, first & 0x03);
    }
}
