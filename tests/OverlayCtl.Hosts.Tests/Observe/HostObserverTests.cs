using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Tests.Support;

namespace OverlayCtl.Hosts.Tests.Observe;

/// <summary>What observing a host costs in commands, and what an agent woken by etcd alone skips.</summary>
public sealed class HostObserverTests
{
    private static RecordingHostRunner Host(string links = "[]") => new()
    {
        Answer = c => c.ToString() switch
        {
            "ip -j -d link show" => new CommandResult(0, links, ""),
            "iptables-save" => new CommandResult(0, "*filter\n:FORWARD ACCEPT [0:0]\n:OVERLAYCTL-FWD - [0:0]\n-A FORWARD -j OVERLAYCTL-FWD\nCOMMIT\n", ""),
            "sysctl -n net.ipv4.ip_forward" => new CommandResult(0, "1\n", ""),
            "printenv SSH_CLIENT" => new CommandResult(1, "", ""),
            _ => new CommandResult(0, "[]", ""),
        },
    };

    [Fact]
    public async Task AFullObservationReadsTheRules()
    {
        var host = Host();
        var observed = await HostObserver.ObserveAsync(host, new ObserveRequest([]), default);
        Assert.Contains(host.Ran, c => c.ToString() == "iptables-save");
        Assert.Equal(["-A FORWARD -j OVERLAYCTL-FWD"], observed.Iptables.Table("filter").Rules);
        Assert.True(observed.IpForward);
    }

    [Fact]
    public async Task WhatIsKnownUnchangedIsTakenFromTheEarlierObservationNotReadAgain()
    {
        var earlier = await HostObserver.ObserveAsync(Host(), new ObserveRequest([]), default);
        var host = Host();
        var observed = await HostObserver.ObserveAsync(host, new ObserveRequest([], Unchanged: earlier with { Iptables = IptablesState.Empty }), default);
        Assert.DoesNotContain(host.Ran, c => c.ToString() == "iptables-save");
        Assert.Same(IptablesState.Empty, observed.Iptables);
        // Routes, neighbours and fdb entries, what peers change, are always read.
        Assert.Contains(host.Ran, c => c.ToString() == "ip -j -4 route show table main");
        Assert.Contains(host.Ran, c => c.ToString() == "bridge -j fdb show");
    }

    private static readonly ObserveRequest Ipv4Only =
        new([SubnetEnv, DaemonJson, DaemonJson + ".overlayctl.bak"], [new HostRead.Ipv6(new Ipv6Traces(SubnetEnv, DaemonJson))]);
    private const string SubnetEnv = "/run/flannel/subnet.env";
    private const string DaemonJson = "/etc/docker/daemon.json";

    [Fact]
    public async Task AnIpv4OnlySpecDoesNotReadTheIpv6TablesOfAHostWithoutAnEarlierDualStackApplysMarks()
    {
        var host = Host();
        host.Files[SubnetEnv] = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n";
        host.Files[DaemonJson] = "{\"bip\": \"10.244.1.1/24\", \"ipv6\": true, \"fixed-cidr-v6\": \"fd00:1::/64\"}\n";
        // The operator's own IPv6 for Docker, kept in the backup: not overlayctl's mark.
        host.Files[DaemonJson + ".overlayctl.bak"] = "{\"ipv6\": true, \"fixed-cidr-v6\": \"fd00:1::/64\"}\n";
        var observed = await HostObserver.ObserveAsync(host, Ipv4Only, default);
        Assert.Null(observed.Ipv6);
        Assert.DoesNotContain(host.Ran, c => c.ToString().Contains("-6", StringComparison.Ordinal) || c.ToString() == "ip6tables-save");
    }

    [Theory]
    [InlineData("device")]
    [InlineData("subnet.env")]
    [InlineData("daemon.json")]
    public async Task AnIpv4OnlySpecReadsTheIpv6TablesOfAHostAnEarlierDualStackApplyMarked(string mark)
    {
        var host = Host(mark == "device" ? """[{"ifindex":7,"ifname":"flannel-v6.1","mtu":1430,"flags":["UP"],"linkinfo":{"info_kind":"vxlan"}}]""" : "[]");
        host.Files[SubnetEnv] = "FLANNEL_SUBNET=10.244.1.1/24\n" + (mark == "subnet.env" ? "FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n" : "");
        host.Files[DaemonJson] = mark == "daemon.json" ? "{\"bip\": \"10.244.1.1/24\", \"fixed-cidr-v6\": \"fd00:10:244:1::/64\"}\n" : "{\"bip\": \"10.244.1.1/24\"}\n";
        host.Files[DaemonJson + ".overlayctl.bak"] = "{}\n";
        var observed = await HostObserver.ObserveAsync(host, Ipv4Only, default);
        Assert.NotNull(observed.Ipv6);
        Assert.Contains(host.Ran, c => c.ToString() == "ip -j -6 route show table main");
        Assert.Contains(host.Ran, c => c.ToString() == "ip6tables-save");
    }

    [Fact]
    public async Task OnADualStackHostIp6tablesIsKnownUnchangedAsIptablesIs()
    {
        var request = new ObserveRequest([], [new HostRead.Ipv6()]);
        var full = Host();
        var earlier = await HostObserver.ObserveAsync(full, request, default);
        Assert.Contains(full.Ran, c => c.ToString() == "ip6tables-save");
        Assert.NotNull(earlier.Ipv6);
        var known = IptablesState.Empty;
        var host = Host();
        var observed = await HostObserver.ObserveAsync(host, request with { Unchanged = earlier with { Ipv6 = earlier.Ipv6! with { Ip6tables = known } } }, default);
        Assert.DoesNotContain(host.Ran, c => c.ToString() is "ip6tables-save" or "iptables-save");
        Assert.Same(known, observed.Ipv6!.Ip6tables);
        // The IPv6 tables peers change are read again.
        Assert.Contains(host.Ran, c => c.ToString() == "ip -j -6 route show table main");
        // An earlier observation without IPv6 (the spec just turned dual-stack) knows nothing of ip6tables.
        var fresh = Host();
        await HostObserver.ObserveAsync(fresh, request with { Unchanged = earlier with { Ipv6 = null } }, default);
        Assert.Contains(fresh.Ran, c => c.ToString() == "ip6tables-save");
    }
}
