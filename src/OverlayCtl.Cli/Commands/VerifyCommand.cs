using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Verification;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// <c>overlayctl verify -f SPEC</c>: a container probe on each host (a namespace on the docker bridge, an address
/// from the lease), and every probe reaching every other with a ping, a don't-fragment ping at the overlay MTU and
/// a TCP exchange of three MTUs: the path containers use, through FORWARD. Each host also pings each peer's
/// underlay address, so "underlay fine, forwarding broken" shows. Exits 5 naming every broken pair's causes,
/// and when nothing was checked.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(CommandSet commands)
    {
        var options = new ClusterOptions(locks: true);
        var command = new Command("verify", "probe container to container between every pair of hosts (ping, full-size don't-fragment ping, TCP) and host to host; exit 5 naming the causes of broken pairs, or when no pair was checked");
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (_, targets, _, engine) = options.Open(context);
            var outcome = await engine.VerifyAsync(targets, ct).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            var report = Report(outcome);
            context.Out.Write(report, VerifyJsonContext.Default.VerifyReport, Human);
            if (outcome.Hosts.Where(h => h.Error is not null).Select(h => h.Name).ToList() is { Count: > 0 } unprobed)
                context.Log.Error("not probed: {Hosts}", string.Join(", ", unprobed));
            if (outcome.Problem is { } problem) context.Log.Error("{Problem}", problem);
            else if (outcome.Pairs.Count(p => !p.Ok) is > 0 and var broken) context.Log.Error("{Broken} of {Pairs} pairs broken", broken, outcome.Pairs.Count);
            return outcome.Ok ? ExitCodes.Ok : ExitCodes.ChecksFailed;
        }));
        return command;
    }

    private static VerifyReport Report(VerifyOutcome outcome) => new(
        outcome.Ok,
        outcome.Problem,
        outcome.Hosts.Select(h => new VerifyHost(h.Name, h.Probe?.Address.ToString(), h.Probe?.Mtu, h.Error)).ToList(),
        outcome.Pairs.Select(p => new VerifyPair(p.From, p.To, p.Target.ToString(), p.Mtu, p.Ok, p.Seen.Icmp, p.Seen.FullSize, p.Seen.PathMtu,
            p.Seen.Tcp is { } tcp ? new VerifyTcp(tcp.Sent, tcp.Received) : null, p.Seen.Underlay, p.Causes)
        {
            Ipv6 = p.Seen.Ipv6 is { } v6 && p.Ipv6 is { } side
                ? new VerifyPair6(side.Target.ToString(), side.Mtu, v6.Ok, v6.Icmp, v6.FullSize, v6.PathMtu, v6.Tcp is { } t6 ? new VerifyTcp(t6.Sent, t6.Received) : null)
                : null,
        }).ToList());

    private static string Human(VerifyReport report)
    {
        var names = report.Hosts.Select(h => h.Name).ToList();
        string Matrix(Func<VerifyPair, string> cell)
        {
            var table = new Table(["FROM \\ TO", .. names]);
            foreach (var from in names)
                table.Add([from, .. names.Select(to => to == from ? "·" : report.Pairs.FirstOrDefault(p => p.From == from && p.To == to) is { } p ? cell(p) : "-")]);
            return table.Render();
        }
        var text = new StringBuilder();
        if (report.Pairs.Count > 0)
            text.Append("containers (probe to probe: ping, don't-fragment ping at the overlay MTU, TCP):\n")
                .Append(Matrix(p => p.Ok ? "ok" : "FAIL"))
                .Append("underlay (host to host):\n")
                .Append(Matrix(p => p.Underlay switch { true => "ok", false => "FAIL", null => "?" }));
        foreach (var host in report.Hosts.Where(h => h.Error is not null))
            text.Append(host.Name).Append(": not probed: ").Append(host.Error).Append('\n');
        foreach (var pair in report.Pairs.Where(p => !p.Ok))
            foreach (var cause in pair.Causes)
                text.Append(pair.From).Append(" -> ").Append(pair.To).Append(": ").Append(cause).Append('\n');
        var broken = report.Pairs.Count(p => !p.Ok);
        text.Append(report.Problem is { } problem ? problem + "\n"
            : broken == 0 ? string.Create(CultureInfo.InvariantCulture, $"all {report.Pairs.Count} pairs reach each other at the overlay MTU\n")
            : string.Create(CultureInfo.InvariantCulture, $"{broken} of {report.Pairs.Count} pairs broken\n"));
        return text.ToString();
    }
}

/// <summary>The shape of <c>verify -o json</c> (docs/output.md). <see cref="Problem"/> says why nothing was checked.</summary>
internal sealed record VerifyReport(bool Ok, string? Problem, IReadOnlyList<VerifyHost> Hosts, IReadOnlyList<VerifyPair> Pairs);

/// <summary>A host and its probe's address and MTU, or why it has none.</summary>
internal sealed record VerifyHost(string Name, string? Probe, int? Mtu, string? Error);

/// <summary>One directed pair of probes; <see cref="Causes"/> is empty when it is ok.</summary>
internal sealed record VerifyPair(string From, string To, string Target, int Mtu, bool Ok, bool Icmp, bool? FullSize, int? PathMtu, VerifyTcp? Tcp, bool? Underlay, IReadOnlyList<string> Causes)
{
    /// <summary>The same pair over IPv6, on a dual-stack overlay; left out of the JSON otherwise, so IPv4-only output keeps its shape.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VerifyPair6? Ipv6 { get; init; }
}

/// <summary>A pair's IPv6 half: the target probe's IPv6 address, the IPv6 path's MTU, and what came back.</summary>
internal sealed record VerifyPair6(string Target, int Mtu, bool Ok, bool Icmp, bool? FullSize, int? PathMtu, VerifyTcp? Tcp);

/// <summary>Bytes sent over one TCP connection and bytes received at the other end.</summary>
internal sealed record VerifyTcp(int Sent, int Received);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(VerifyReport))]
internal sealed partial class VerifyJsonContext : JsonSerializerContext;
