using System.Globalization;
using System.Text.RegularExpressions;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Verification;

/// <summary>
/// What one probe saw of another, and what the two hosts saw of each other underneath.
/// </summary>
/// <param name="Icmp">A small echo came back.</param>
/// <param name="FullSize">A don't-fragment echo at the overlay MTU came back; null when not tried (no small echo came back either).</param>
/// <param name="PathMtu">The MTU the path reported for it (ICMP "frag needed", or ping's local "message too long, mtu=N").</param>
/// <param name="Tcp">A TCP exchange of more than one MTU; null when not tried.</param>
/// <param name="Underlay">The source host reached the destination host's underlay address; null when unknown (the probing itself failed).</param>
public sealed record PairProbe(bool Icmp, bool? FullSize, int? PathMtu, TcpExchange? Tcp, bool? Underlay)
{
    /// <summary>Nothing could be seen: the probing itself failed.</summary>
    public static PairProbe Unknown { get; } = new(false, null, null, null, null);

    /// <summary>The same over IPv6, between two dual-stack probes; null otherwise.</summary>
    public PairProbe6? Ipv6 { get; init; }
}

/// <summary>What one probe saw of another over IPv6: a small echo, a full-size one at the IPv6 path's MTU, a TCP exchange.</summary>
public sealed record PairProbe6(bool Icmp, bool? FullSize, int? PathMtu, TcpExchange? Tcp)
{
    public bool Ok => Icmp && FullSize == true && Tcp?.Ok == true;
}

/// <summary>Bytes a probe sent over one TCP connection and how many its peer received.</summary>
public sealed record TcpExchange(int Sent, int Received)
{
    public bool Ok => Received == Sent;
}

/// <summary>
/// One directed pair of probes, judged: whether containers on <see cref="From"/> reach containers on <see cref="To"/>
/// with full-size packets, and, when not, every cause that can be known.
/// </summary>
public sealed partial record PairResult(string From, string To, Ipv4Address Target, int Mtu, PairProbe Seen, IReadOnlyList<string> Causes)
{
    /// <summary>The doctor checks whose errors break traffic between containers; the others (Docker's files, leases, warnings) do not.</summary>
    public static IReadOnlySet<string> PathChecks { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "underlay", "ip-forward", "forward-policy", "mtu", "vxlan-port", "vtep-mac", "peers", "ovs-underlay",
    };

    public bool Ok => Seen.Icmp && Seen.FullSize == true && Seen.Tcp?.Ok == true && Seen.Ipv6?.Ok != false;

    /// <summary>Between two dual-stack probes: the destination probe's IPv6 address and the IPv6 path's MTU tested; else null.</summary>
    public (System.Net.IPAddress Target, int Mtu)? Ipv6 { get; init; }

    /// <summary>
    /// Judges a pair: the causes are the MTU the path reported (or full-size packets lost while small ones pass),
    /// the doctor errors on either host that break the path, and the underlay when the hosts do not reach
    /// each other. Empty when the pair is fine.
    /// </summary>
    public static PairResult Judge(ContainerProbe from, ContainerProbe to, Ipv4Address toUnderlay, PairProbe seen, IEnumerable<Finding> findings)
    {
        var result = new PairResult(from.Host, to.Host, to.Address, from.Mtu, seen, [])
        {
            Ipv6 = from.Ipv6 is { } mine && to.Ipv6 is { } peer ? (peer.Address, mine.Mtu) : null,
        };
        if (result.Ok) return result;
        var causes = new List<string>();
        var size = from.Mtu.ToString(CultureInfo.InvariantCulture);
        if (seen.PathMtu is { } path && path < from.Mtu)
            causes.Add($"MTU: the path carries {path.ToString(CultureInfo.InvariantCulture)}-byte packets but the overlay MTU is {size} (a don't-fragment ping of {size} bytes was answered 'mtu {path.ToString(CultureInfo.InvariantCulture)}')");
        else if (seen.Icmp && seen.FullSize == false)
            causes.Add($"MTU: {size}-byte packets (the overlay MTU, don't-fragment) are lost while small ones pass: the path between {from.Host} and {to.Host} carries less than {size} plus the backend's overhead");
        else if (seen is { Icmp: true, Tcp: { Ok: false } tcp })
            causes.Add($"TCP: {tcp.Received.ToString(CultureInfo.InvariantCulture)} of {tcp.Sent.ToString(CultureInfo.InvariantCulture)} bytes arrived while pings pass: a firewall dropping TCP between containers?");
        if (seen.Ipv6 is { Ok: false } v6 && from.Ipv6 is { } side)
        {
            var mtu6 = side.Mtu.ToString(CultureInfo.InvariantCulture);
            causes.Add(v6 switch
            {
                { Icmp: false } => $"IPv6: no echo from {to.Ipv6?.Address} while IPv4 {(seen.Icmp ? "passes" : "fails too")}: the IPv6 half of the path (forwarding, ip6tables FORWARD, routes) is broken",
                { PathMtu: { } p6 } when p6 < side.Mtu => $"IPv6 MTU: the path carries {p6.ToString(CultureInfo.InvariantCulture)}-byte packets but the IPv6 overlay's is {mtu6}",
                { FullSize: false } => $"IPv6 MTU: {mtu6}-byte packets (don't-fragment) are lost while small ones pass",
                { Tcp: { } t } => $"IPv6 TCP: {t.Received.ToString(CultureInfo.InvariantCulture)} of {t.Sent.ToString(CultureInfo.InvariantCulture)} bytes arrived while pings pass: ip6tables dropping TCP between containers?",
                _ => "IPv6: the exchange did not complete",
            });
        }
        causes.AddRange(findings
            .Where(f => f.Severity == Severity.Error && PathChecks.Contains(f.Check) && (f.Host == from.Host || f.Host == to.Host))
            .Select(f => $"{f.Host} [{f.Check}] {f.Problem}"));
        if (seen.Underlay == false)
            causes.Add($"underlay: {from.Host} does not reach {to.Host} at {toUnderlay}");
        if (causes.Count == 0)
            causes.Add($"no reply within {ContainerProbe.ReplySeconds.ToString(CultureInfo.InvariantCulture)} s, and doctor finds nothing on {from.Host} or {to.Host} that explains it");
        return result with { Causes = causes };
    }

    /// <summary>A pair whose probing failed (a command that could not run), with why.</summary>
    public static PairResult Failed(ContainerProbe from, ContainerProbe to, string error) =>
        new(from.Host, to.Host, to.Address, from.Mtu, PairProbe.Unknown, [error]);

    /// <summary>The path MTU ping reports: "Frag needed and DF set (mtu = 1350)" from a router, "message too long, mtu=1350" locally.</summary>
    public static int? ReportedMtu(string pingOutput) =>
        MtuPattern().Match(pingOutput) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"mtu ?= ?(\d{1,5})\b")]
    private static partial Regex MtuPattern();
}

/// <summary>A host verify tried to put a probe on: the probe, or why there is none.</summary>
public sealed record ProbedHost(string Name, ContainerProbe? Probe, string? Error);

/// <summary>
/// A whole verify run: every host with its probe or its error, and every pair between probes. Proving nothing
/// is not success: with no pair checked, or a host that could not be probed, the run fails.
/// </summary>
public sealed record VerifyOutcome(IReadOnlyList<ProbedHost> Hosts, IReadOnlyList<PairResult> Pairs)
{
    public bool Ok => Problem is null && Hosts.All(h => h.Error is null) && Pairs.All(p => p.Ok);

    /// <summary>Why the run checked nothing, or null when it checked at least one pair.</summary>
    public string? Problem => Pairs.Count > 0 ? null
        : $"no pair was checked: a probe was made on {Hosts.Count(h => h.Probe is not null).ToString(CultureInfo.InvariantCulture)} of {Hosts.Count.ToString(CultureInfo.InvariantCulture)} host(s), and a pair needs two";

    /// <summary>Every ordered pair of hosts that have a probe, in host order.</summary>
    public static IEnumerable<(ContainerProbe From, ContainerProbe To)> PairsOf(IReadOnlyList<ProbedHost> hosts)
    {
        var probes = hosts.Select(h => h.Probe).OfType<ContainerProbe>().ToList();
        return probes.SelectMany(a => probes.Where(b => b != a).Select(b => (a, b)));
    }
}
