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
}
