using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Hosts.Observe;

namespace OverlayCtl.Hosts.Tests.Observe;

/// <summary>An agent's own changes coming back from the kernel monitor do not wake it again; anyone else's do.</summary>
public sealed class KernelEchoTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    /// <summary>What the vxlan backend does for a peer joining (10.244.5.0/24 at 198.18.0.5) and one leaving (10.244.2.0/24).</summary>
    private static readonly HostPlan Join = new("n1",
    [
        new Operation(ChangeKind.Add, ResourceAddress.Neighbour(Ipv4Address.Parse("10.244.5.0")),
            new IpStep(["neigh", "replace", "10.244.5.0", "lladdr", "52:54:00:12:34:56", "dev", "flannel.1", "nud", "permanent"])),
        new Operation(ChangeKind.Add, ResourceAddress.Fdb(MacAddress.Parse("52:54:00:12:34:56")),
            new BridgeStep(["fdb", "replace", "52:54:00:12:34:56", "dev", "flannel.1", "dst", "198.18.0.5", "self", "permanent"])),
        new Operation(ChangeKind.Add, ResourceAddress.Route(Ipv4Cidr.Parse("10.244.5.0/24")),
            new IpStep(["route", "replace", "10.244.5.0/24", "via", "10.244.5.0", "dev", "flannel.1", "onlink", "proto", "211"])),
        new Operation(ChangeKind.Remove, ResourceAddress.Route(Ipv4Cidr.Parse("10.244.2.0/24")),
            new IpStep(["route", "del", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "proto", "211"])),
    ]);

    [Theory]
    [InlineData("10.244.5.0/24 via 10.244.5.0 dev flannel.1 proto 211 onlink ", true)]
    [InlineData("10.244.5.0 dev flannel.1 lladdr 52:54:00:12:34:56 PERMANENT ", true)]
    [InlineData("52:54:00:12:34:56 dev flannel.1 dst 198.18.0.5 self permanent", true)]
    [InlineData("Deleted 10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211 onlink ", true)]
    // The opposite of what the plan did: someone removed what it just added, or put back what it removed.
    [InlineData("Deleted 10.244.5.0/24 via 10.244.5.0 dev flannel.1 proto 211 onlink ", false)]
    [InlineData("10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211 onlink ", false)]
    // Objects the plan did not touch, links, addresses and rules.
    [InlineData("10.244.3.0/24 via 10.244.3.0 dev flannel.1 proto 211 onlink ", false)]
    [InlineData("Deleted 7: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default ", false)]
    [InlineData("Deleted 5: docker0    inet 10.244.1.1/24 scope global docker0", false)]
    [InlineData(" EVENT: -4 -t filter -D FORWARD -m comment --comment overlayctl -j OVERLAYCTL-FWD", false)]
    public void OnlyThePlansOwnChangesAreItsEcho(string line, bool echo)
    {
        var plan = KernelEcho.Of(Join);
        Assert.Equal(echo, plan.Explains(line, T0));
        plan.Finished(T0);
        Assert.Equal(echo, plan.Explains(line, T0 + KernelEcho.Grace));
    }

    /// <summary>A dual-stack peer joining: its IPv6 neighbour, fdb entry to its address6 and route on flannel-v6.1.</summary>
    private static readonly HostPlan Join6 = new("n1",
    [
        new Operation(ChangeKind.Add, ResourceAddress.Neighbour6(System.Net.IPAddress.Parse("fd00:10:180:5::")),
            new IpStep(["neigh", "replace", "fd00:10:180:5::", "dev", "flannel-v6.1", "lladdr", "52:54:00:12:34:57", "nud", "permanent"])),
        new Operation(ChangeKind.Add, ResourceAddress.Fdb(MacAddress.Parse("52:54:00:12:34:57")),
            new BridgeStep(["fdb", "replace", "52:54:00:12:34:57", "dev", "flannel-v6.1", "self", "dst", "fd00:198:18:180::5", "permanent"])),
        new Operation(ChangeKind.Add, ResourceAddress.Route6(Ipv6.Parse("fd00:10:180:5::/64")),
            new IpStep(["route", "replace", "fd00:10:180:5::/64", "via", "fd00:10:180:5::", "dev", "flannel-v6.1", "onlink", "proto", "211"])),
        new Operation(ChangeKind.Remove, ResourceAddress.Route6(Ipv6.Parse("fd00:10:180:2::/64")),
            new IpStep(["route", "del", "fd00:10:180:2::/64", "dev", "flannel-v6.1"])),
    ]);

    [Theory]
    [InlineData("fd00:10:180:5::/64 via fd00:10:180:5:: dev flannel-v6.1 proto 211 metric 1024 onlink ", true)]
    [InlineData("fd00:10:180:5:: dev flannel-v6.1 lladdr 52:54:00:12:34:57 PERMANENT ", true)]
    [InlineData("52:54:00:12:34:57 dev flannel-v6.1 dst fd00:198:18:180::5 self permanent", true)]
    [InlineData("Deleted fd00:10:180:2::/64 via fd00:10:180:2:: dev flannel-v6.1 proto 211 metric 1024 onlink ", true)]
    [InlineData("Deleted fd00:10:180:5::/64 via fd00:10:180:5:: dev flannel-v6.1 proto 211 metric 1024 onlink ", false)]
    [InlineData("Deleted fd00:10:180:5:: dev flannel-v6.1 lladdr 52:54:00:12:34:57 PERMANENT ", false)]
    [InlineData("fd00:10:180:3::/64 via fd00:10:180:3:: dev flannel-v6.1 proto 211 metric 1024 onlink ", false)]
    public void AnIpv6PlansOwnChangesAreItsEchoToo(string line, bool echo) =>
        Assert.Equal(echo, KernelEcho.Of(Join6).Explains(line, T0));

    [Fact]
    public void AfterItsGraceAnEchoIsNewsAgain()
    {
        var plan = KernelEcho.Of(Join);
        plan.Finished(T0);
        Assert.False(plan.Explains("10.244.5.0/24 via 10.244.5.0 dev flannel.1 proto 211 onlink ", T0 + KernelEcho.Grace + TimeSpan.FromMilliseconds(1)));
    }
}
