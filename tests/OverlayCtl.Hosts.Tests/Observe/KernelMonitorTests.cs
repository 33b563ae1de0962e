using OverlayCtl.Hosts.Observe;

namespace OverlayCtl.Hosts.Tests.Observe;

/// <summary>Which kernel notifications wake an agent: overlayctl's devices, routes and chains, not containers' ARP traffic.</summary>
public sealed class KernelMonitorTests
{
    private static readonly string[] Devices = ["docker0", "flannel.1"];

    [Theory]
    [InlineData("Deleted 10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211 onlink ", true)]
    [InlineData("10.244.3.0/24 via 10.244.3.0 dev flannel.1 proto 211 onlink ", true)]
    [InlineData("Deleted 7: flannel.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UNKNOWN group default ", true)]
    [InlineData("5: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN group default ", true)]
    [InlineData("Deleted 5: docker0    inet 10.244.1.1/24 scope global docker0", true)]
    [InlineData("Deleted 10.244.2.0 dev flannel.1 lladdr 02:00:00:00:00:02 PERMANENT ", true)]
    [InlineData(" EVENT: -4 -t filter -D FORWARD -m comment --comment overlayctl -j OVERLAYCTL-FWD", true)]
    [InlineData(" EVENT: -4 -t nat -D OVERLAYCTL-POSTRTG -s 10.244.0.0/16 -d 10.244.0.0/16 -j RETURN", true)]
    [InlineData("10.244.1.10 dev docker0 lladdr 0a:58:0a:f4:01:0a REACHABLE ", false)]
    [InlineData("10.244.1.10 dev docker0 lladdr 0a:58:0a:f4:01:0a STALE ", false)]
    [InlineData("198.18.0.1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE ", false)]
    [InlineData("9: veth1234@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master docker0 state UP ", false)]
    [InlineData(" EVENT: -4 -t filter -A DOCKER -d 172.17.0.2/32 -j ACCEPT", false)]
    [InlineData("NEWGEN: GENID=4 PID=25219 NAME=iptables", false)]
    [InlineData("", false)]
    public void OnlyOverlayctlsOwnStateWakesTheAgent(string line, bool relevant) =>
        Assert.Equal(relevant, KernelMonitor.IsRelevant(line, Devices));

    /// <summary>An agent on a dual-stack vxlan host watches flannel-v6.1 too (every device the backend owns).</summary>
    private static readonly string[] DualStackDevices = ["docker0", "flannel.1", "flannel-v6.1"];

    [Theory]
    [InlineData("Deleted fd00:10:180:2::/64 via fd00:10:180:2:: dev flannel-v6.1 proto 211 metric 1024 onlink ", true)]
    [InlineData("Deleted fd00:10:180:2:: dev flannel-v6.1 lladdr 02:00:00:00:00:02 PERMANENT ", true)]
    [InlineData("Deleted 02:00:00:00:00:02 dev flannel-v6.1 dst fd00:198:18:180::2 self permanent", true)]
    [InlineData("Deleted 02:00:00:00:00:03 dev flannel.1 dst 198.18.180.3 self permanent", true)]
    [InlineData("Deleted 7: flannel-v6.1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1430 qdisc noqueue state UNKNOWN group default ", true)]
    [InlineData("Deleted 5: docker0    inet6 fd00:10:180:1::1/64 scope global ", true)]
    [InlineData("fd00:10:180:3::/64 via fd00:198:18:180::3 dev eth0 proto 211 metric 1024 ", true)]
    [InlineData(" EVENT: -6 -t filter -D FORWARD", true)]
    [InlineData(" EVENT: -6 -t nat -X OVERLAYCTL-POSTRTG", true)]
    [InlineData(" EVENT: nft: DEL table: table filter ip6", true)]
    [InlineData("fd00:10:180:1::10 dev docker0 lladdr 0a:58:0a:f4:01:0a REACHABLE ", false)]
    [InlineData("fe80::1 dev eth0 lladdr 02:00:00:00:00:01 STALE ", false)]
    [InlineData("0a:58:0a:f4:01:0a dev veth1234 master docker0 ", false)]
    [InlineData("Deleted 0a:58:0a:f4:01:0a dev veth1234 master docker0 stale", false)]
    [InlineData("9: veth1234    inet6 fe80::858:aff:fef4:10a/64 scope link ", false)]
    [InlineData(" EVENT: -6 -t filter -A DOCKER -d fd00:10:180:1::2/128 -j ACCEPT", false)]
    public void OnADualStackHostOverlayctlsIpv6StateAndFdbWakeTheAgent(string line, bool relevant) =>
        Assert.Equal(relevant, KernelMonitor.IsRelevant(line, DualStackDevices));
}
