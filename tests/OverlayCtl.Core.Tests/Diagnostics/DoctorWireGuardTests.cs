using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Planning;

namespace OverlayCtl.Core.Tests.Diagnostics;

/// <summary>doctor on a wireguard host: silence when converged and recently in touch, and each way a peer or the key goes wrong named.</summary>
public sealed class DoctorWireGuardTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-29T16:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static HostFacts At(DateTimeOffset now) => HostFacts.None with { Now = now };

    /// <summary>node1 converged with peers 2 and 3, each last heard from <paramref name="ago"/> before <see cref="Now"/> (null: never).</summary>
    private static ObservedHost Converged(TimeSpan? ago)
    {
        var host = WireGuardPlannerTests.Converged(WireGuardPlannerTests.Spec(), 2, 3);
        var device = host.WireGuard["flannel-wg"];
        return host with
        {
            WireGuard = new Dictionary<string, WireGuardDevice>
            {
                ["flannel-wg"] = device with { Peers = device.Peers.Select(p => p with { LatestHandshake = ago is { } a ? Now - a : null }).ToList() },
            },
        };
    }

    private static IReadOnlyList<Finding> Check(ObservedHost observed, HostFacts facts) =>
        Doctor.CheckHost(WireGuardPlannerTests.Input(WireGuardPlannerTests.Spec(), observed, 2, 3), facts);

    [Fact]
    public void AConvergedHostInTouchWithItsPeersHasNoFindings()
    {
        Assert.Empty(Check(Converged(TimeSpan.FromSeconds(40)), At(Now)));
        // Without a clock, handshakes are not judged.
        Assert.Empty(Check(Converged(null), HostFacts.None));
    }

    [Fact]
    public void APeerNotHeardFromForMinutesOrNeverIsAWarningNamingThePort()
    {
        var findings = Check(Converged(TimeSpan.FromMinutes(5)), At(Now));
        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.Equal(("handshake", Severity.Warning), (f.Check, f.Severity)));
        Assert.Equal("peer node2 (10.244.2.0/24): last handshake 5 min ago: no traffic passed, or UDP 51820 from 192.0.2.11 to 192.0.2.12 is blocked", findings[0].Problem);
        Assert.StartsWith("peer node3 (10.244.3.0/24): no handshake yet", Check(Converged(null), At(Now))[1].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void APeerWithAnotherEndpointOrSubnetThanItsLeaseIsAnError()
    {
        var host = Converged(TimeSpan.FromSeconds(10));
        var device = host.WireGuard["flannel-wg"];
        var moved = host with
        {
            WireGuard = new Dictionary<string, WireGuardDevice>
            {
                ["flannel-wg"] = device with { Peers = [device.Peers[0] with { Endpoint = "192.0.2.99:51820", AllowedIps = ["10.244.9.0/24"] }, device.Peers[1]] },
            },
        };
        var finding = Assert.Single(Check(moved, At(Now)));
        Assert.Equal(("peers", Severity.Error), (finding.Check, finding.Severity));
        Assert.Equal("peer node2 (10.244.2.0/24): endpoint 192.0.2.99:51820, not 192.0.2.12:51820 as its lease says; allowed IPs 10.244.9.0/24, not 10.244.2.0/24 as its lease says", finding.Problem);
    }

    [Fact]
    public void ADeviceWithAnotherKeyThanTheFileIsAnError()
    {
        var host = Converged(TimeSpan.FromSeconds(10));
        var other = host with { PublicKeys = new Dictionary<string, string?> { ["/etc/wg/node1.key"] = WireGuardPlannerTests.Key(9) } };
        var finding = Assert.Single(Check(other, At(Now)));
        Assert.Equal("private-key", finding.Check);
        Assert.StartsWith($"flannel-wg holds the private half of {WireGuardPlannerTests.Key(1)}, but /etc/wg/node1.key holds the private half of {WireGuardPlannerTests.Key(9)}", finding.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInputRuleDroppingTheListenPortIsAnError()
    {
        var host = Converged(TimeSpan.FromSeconds(10));
        var filter = host.Iptables.Table("filter");
        var dropping = host with
        {
            Iptables = new IptablesState(new Dictionary<string, IptablesTable>(host.Iptables.Tables)
            {
                ["filter"] = filter with { Rules = [.. filter.Rules, "-A INPUT -p udp -m udp --dport 51820 -j DROP"] },
            }),
        };
        var finding = Assert.Single(Check(dropping, At(Now)));
        Assert.Equal(("wireguard-port", "'-A INPUT -p udp -m udp --dport 51820 -j DROP' drops WireGuard (UDP 51820) arriving from peers"), (finding.Check, finding.Problem));
    }

    [Fact]
    public void TheChecksDoctorListsForWireGuard() =>
        Assert.Equal(["wireguard-port", "private-key", "peers", "handshake"],
            WireGuardPlannerTests.Spec().Network.Backend.Checks.Select(c => c.Name));
}
