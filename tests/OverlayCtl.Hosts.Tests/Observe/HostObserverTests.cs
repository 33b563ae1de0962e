using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Tests.Support;

namespace OverlayCtl.Hosts.Tests.Observe;

/// <summary>What observing a host costs in commands, and what an agent woken by etcd alone skips.</summary>
public sealed class HostObserverTests
{
    private static RecordingHostRunner Host() => new()
    {
        Answer = c => c.ToString() switch
        {
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
