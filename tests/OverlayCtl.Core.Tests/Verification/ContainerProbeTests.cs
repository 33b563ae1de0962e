using OverlayCtl.Core.Net;
using OverlayCtl.Core.Verification;

namespace OverlayCtl.Core.Tests.Verification;

public sealed class ContainerProbeTests
{
    private static readonly ContainerProbe Probe = ContainerProbe.For("a1b2c3", 2, "node3", Ipv4Cidr.Parse("10.244.3.0/24"), "docker0", 1450);

    [Fact]
    public void ABridgePortNamedAsAProbesIsTakenForAKilledRunsProbeAndNothingElseIs()
    {
        var made = ContainerProbe.For("0a1b2c", 12, "node1", Ipv4Cidr.Parse("10.244.1.0/24"), "docker0", 1450);
        var left = ContainerProbe.Leftover("node1", made.HostVeth, "docker0");
        Assert.Equal((made.Namespace, made.HostVeth), (left?.Namespace, left?.HostVeth));
        Assert.Equal(made.Remove().Select(c => c.ToString()), left!.Remove().Select(c => c.ToString()));
        foreach (var port in new[] { "vethd2a6d4b", "ovp0a1b2c", "ovp0A1B2C0", "ovp0a1b2c01", "ovp0a1b2cx", "ovs-system", "ovp" })
            Assert.Null(ContainerProbe.Leftover("node1", port, "docker0"));
        Assert.Throws<ArgumentException>(() => ContainerProbe.For("0a1b", 0, "node1", Ipv4Cidr.Parse("10.244.1.0/24"), "docker0", 1450));
    }

    [Fact]
    public void TheProbeTakesTheLeasesLastUsableAddressAndRoutesViaTheBridgeGateway()
    {
        Assert.Equal("10.244.3.254", Probe.Address.ToString());
        Assert.Equal("10.244.3.1", Probe.Gateway.ToString());
        Assert.Equal("10.244.4.6", ContainerProbe.For("a1b2c3", 0, "n", Ipv4Cidr.Parse("10.244.4.0/29"), "docker0", 1450).Address.ToString());
    }

    [Fact]
    public void NamesCarryTheRunAndHostAndFitTheKernelsLimits()
    {
        Assert.Equal("ovlprobe-a1b2c3-2", Probe.Namespace);
        Assert.Equal("ovpa1b2c32", Probe.HostVeth);
        Assert.True(ContainerProbe.For("a1b2c3", 99999, "n", Ipv4Cidr.Parse("10.244.3.0/24"), "docker0", 1450).HostVeth.Length <= 15);
        Assert.Throws<ArgumentException>(() => ContainerProbe.For("a1b2c3", 1_000_000, "n", Ipv4Cidr.Parse("10.244.3.0/24"), "docker0", 1450));
        Assert.Throws<ArgumentException>(() => ContainerProbe.For("x; rm", 1, "n", Ipv4Cidr.Parse("10.244.3.0/24"), "docker0", 1450));
        Assert.Throws<ArgumentException>(() => ContainerProbe.For("a1b2c3", 1, "n", Ipv4Cidr.Parse("10.244.3.0/31"), "docker0", 1450));
    }

    [Fact]
    public void CreationIsANamespaceAVethIntoTheBridgeAndTheContainersAddressAndRoute()
    {
        Assert.Equal(
        [
            "ip netns add ovlprobe-a1b2c3-2",
            "ip -batch -",
            "ip netns exec ovlprobe-a1b2c3-2 ip -batch -",
        ], Probe.Create().Select(c => c.ToString()));
        Assert.Equal("link add ovpa1b2c32 mtu 1450 type veth peer name eth0 mtu 1450 netns ovlprobe-a1b2c3-2\nlink set ovpa1b2c32 master docker0 up\n", Probe.Create()[1].StandardInput);
        Assert.Equal("addr add 10.244.3.254/24 dev eth0\nlink set eth0 up\nroute add default via 10.244.3.1\n", Probe.Create()[2].StandardInput);
        Assert.Equal(["ip link del ovpa1b2c32", "ip netns del ovlprobe-a1b2c3-2"], Probe.Remove().Select(c => c.ToString()));
    }

    [Fact]
    public void ProbesPingWithDontFragmentAndWithoutQuietSoTheReportedMtuIsVisible()
    {
        var target = Ipv4Address.Parse("10.244.1.254");
        Assert.Equal("ip netns exec ovlprobe-a1b2c3-2 ping -n -c 1 -W 2 -M do -s 1422 10.244.1.254", Probe.Ping(target, 1422).ToString());
        Assert.DoesNotContain("-q", Probe.Ping(target, 1422).Arguments);
        Assert.Equal("ip netns exec ovlprobe-a1b2c3-2 timeout 3 socat -u TCP-LISTEN:40001,bind=10.244.3.254,reuseaddr STDOUT", Probe.Listen(40001, 3).ToString());
        var send = Probe.Send(target, 40001, new string('x', 4350), 2);
        Assert.Equal("ip netns exec ovlprobe-a1b2c3-2 timeout 2 socat -u STDIN TCP:10.244.1.254:40001,connect-timeout=1,retry=10,interval=0.1", send.ToString());
        Assert.Equal(4350, send.StandardInput!.Length);
    }

    [Fact]
    public void ADualStackProbeTakesTheIPv6SubnetsLastAddressButOneAndPingsAndConnectsOverIPv6()
    {
        var dual = Probe with { Ipv6 = new Ipv6Side(Ipv6.Parse("fd00:10:244:3::/64"), 1430) };
        Assert.Equal("fd00:10:244:3:ffff:ffff:ffff:fffe", dual.Ipv6!.Address.ToString());
        Assert.Equal("fd00:10:244:3::1", dual.Ipv6.Gateway.ToString());
        Assert.Equal(
            "addr add 10.244.3.254/24 dev eth0\naddr add fd00:10:244:3:ffff:ffff:ffff:fffe/64 dev eth0 nodad\nlink set eth0 up\n"
            + "route add default via 10.244.3.1\nroute add ::/0 via fd00:10:244:3::1\n",
            dual.Create()[2].StandardInput);
        var target = System.Net.IPAddress.Parse("fd00:10:244:1:ffff:ffff:ffff:fffe");
        Assert.Equal("ip netns exec ovlprobe-a1b2c3-2 ping -6 -n -c 1 -W 2 -M do -s 1382 fd00:10:244:1:ffff:ffff:ffff:fffe", dual.Ping6(target, 1382).ToString());
        Assert.Equal("ip netns exec ovlprobe-a1b2c3-2 timeout 3 socat -u 'TCP6-LISTEN:40001,bind=[fd00:10:244:3:ffff:ffff:ffff:fffe],reuseaddr' STDOUT", dual.Listen(40001, 3, ipv6: true).ToString());
        Assert.Equal("ip netns exec ovlprobe-a1b2c3-2 timeout 2 socat -u STDIN 'TCP6:[fd00:10:244:1:ffff:ffff:ffff:fffe]:40001,connect-timeout=1,retry=10,interval=0.1'", dual.Send(target, 40001, "x", 2).ToString());
    }
}
