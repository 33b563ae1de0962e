using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Verification;

namespace OverlayCtl.Core.Tests.Verification;

public sealed class PairResultTests
{
    private static readonly ContainerProbe N1 = ContainerProbe.For("abc123", 0, "n1", Ipv4Cidr.Parse("10.244.1.0/24"), "docker0", 1450);
    private static readonly ContainerProbe N2 = ContainerProbe.For("abc123", 1, "n2", Ipv4Cidr.Parse("10.244.2.0/24"), "docker0", 1450);
    private static readonly ContainerProbe N3 = ContainerProbe.For("abc123", 2, "n3", Ipv4Cidr.Parse("10.244.3.0/24"), "docker0", 1450);
    private static readonly Ipv4Address N2Underlay = Ipv4Address.Parse("198.18.40.12");
    private static readonly TcpExchange FullTcp = new(4350, 4350);

    private static Finding Error(string check, string host, string problem = "broken") => new(check, host, Severity.Error, problem, "fix");

    [Fact]
    public void APairIsOkOnlyWhenPingFullSizePingAndTcpAllPass()
    {
        var ok = PairResult.Judge(N1, N2, N2Underlay, new PairProbe(true, true, null, FullTcp, true), []);
        Assert.True(ok.Ok);
        Assert.Empty(ok.Causes);
        Assert.Equal("10.244.2.254", ok.Target.ToString());
        Assert.False(PairResult.Judge(N1, N2, N2Underlay, new PairProbe(true, true, null, new TcpExchange(4350, 1400), true), []).Ok);
        Assert.False(PairResult.Judge(N1, N2, N2Underlay, new PairProbe(true, false, null, FullTcp, true), []).Ok);
    }

    [Fact]
    public void AReportedPathMtuIsNamedWithBothNumbers()
    {
        var pair = PairResult.Judge(N1, N2, N2Underlay, new PairProbe(true, false, 1350, FullTcp, true), []);
        Assert.Equal("MTU: the path carries 1350-byte packets but the overlay MTU is 1450 (a don't-fragment ping of 1450 bytes was answered 'mtu 1350')", Assert.Single(pair.Causes));
    }

    [Fact]
    public void FullSizePacketsLostWhileSmallOnesPassIsAnMtuBlackHole()
    {
        var pair = PairResult.Judge(N1, N2, N2Underlay, new PairProbe(true, false, null, new TcpExchange(4350, 0), true), []);
        Assert.StartsWith("MTU: 1450-byte packets (the overlay MTU, don't-fragment) are lost while small ones pass", Assert.Single(pair.Causes), StringComparison.Ordinal);
    }

    [Fact]
    public void DoctorErrorsOnEitherHostThatBreakThePathAreTheCausesAndOthersAreNot()
    {
        var findings = new[]
        {
            Error("ip-forward", "n2", "net.ipv4.ip_forward is 0"),
            Error("forward-policy", "n1", "'-A FORWARD -j DROP' comes before overlayctl's accept rules in FORWARD"),
            Error("ip-forward", "n3"),
            Error("docker-bip", "n1"),
            new Finding("rp-filter", "n1", Severity.Warning, "strict", "fix"),
        };
        var pair = PairResult.Judge(N1, N2, N2Underlay, new PairProbe(false, null, null, null, true), findings);
        Assert.Equal(
        [
            "n2 [ip-forward] net.ipv4.ip_forward is 0",
            "n1 [forward-policy] '-A FORWARD -j DROP' comes before overlayctl's accept rules in FORWARD",
        ], pair.Causes);
    }

    [Fact]
    public void ABrokenUnderlayIsACauseAndAnUnexplainedLossSaysDoctorFoundNothing()
    {
        Assert.Equal(["underlay: n1 does not reach n2 at 198.18.40.12"], PairResult.Judge(N1, N2, N2Underlay, new PairProbe(false, null, null, null, false), []).Causes);
        Assert.Equal(["no reply within 2 s, and doctor finds nothing on n1 or n2 that explains it"], PairResult.Judge(N1, N2, N2Underlay, new PairProbe(false, null, null, null, true), []).Causes);
    }

    [Theory]
    [InlineData("From 10.244.3.1 icmp_seq=1 Frag needed and DF set (mtu = 1350)", 1350)]
    [InlineData("ping: local error: message too long, mtu=1400", 1400)]
    [InlineData("1 packets transmitted, 0 received, 100% packet loss, time 0ms", null)]
    public void TheMtuPingReportsIsRead(string output, int? mtu) => Assert.Equal(mtu, PairResult.ReportedMtu(output));

    [Fact]
    public void EveryPathCheckIsADoctorCheckOfSomeBackend()
    {
        var known = BackendRegistry.All.SelectMany(Doctor.ChecksFor).Select(c => c.Name).ToHashSet();
        Assert.All(PairResult.PathChecks, c => Assert.Contains(c, known));
    }

    [Fact]
    public void CheckingNoPairIsAFailureThatSaysWhy()
    {
        var none = new VerifyOutcome([new ProbedHost("n1", N1, null), new ProbedHost("n2", null, "holds no lease")], []);
        Assert.False(none.Ok);
        Assert.Equal("no pair was checked: a probe was made on 1 of 2 host(s), and a pair needs two", none.Problem);
        Assert.False(new VerifyOutcome([], []).Ok);
    }

    [Fact]
    public void EveryOrderedPairOfProbedHostsIsChecked()
    {
        var hosts = new[] { new ProbedHost("n1", N1, null), new ProbedHost("n2", null, "unreachable"), new ProbedHost("n3", N3, null) };
        Assert.Equal(["n1->n3", "n3->n1"], VerifyOutcome.PairsOf(hosts).Select(p => $"{p.From.Host}->{p.To.Host}"));
        var outcome = new VerifyOutcome(hosts, [PairResult.Judge(N1, N3, N2Underlay, new PairProbe(true, true, null, FullTcp, true), [])]);
        Assert.False(outcome.Ok);
        Assert.Null(outcome.Problem);
    }
}
