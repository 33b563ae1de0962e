using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// <c>overlayctl verify -f SPEC</c>: from each host, ping every other host's bridge gateway across the
/// overlay, sourced from its own gateway and with don't-fragment at the overlay MTU, so both the path
/// and its MTU are proven. Prints a matrix; exits 5 naming the broken pairs.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create(CommandSet commands)
    {
        var options = new ClusterOptions();
        var command = new Command("verify", "ping every host's bridge gateway from every other host over the overlay (full-size, don't-fragment); exit 5 on any broken pair");
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, sources, store, engine) = options.Open(context);
            var leases = await store.ListAsync(ct).ConfigureAwait(false);
            var held = OverlayCtl.Engine.LeaseCoordinator.HeldBy(cluster, leases);
            var destinations = cluster.Hosts.Where(h => held.ContainsKey(h.Name)).ToList();
            var results = await engine.Hosts.InspectAsync(sources, leases, async (input, runner, token) =>
            {
                var underlay = Underlay.Find(input.Host, input.Observed);
                var mtu = cluster.Network.OverlayMtu(underlay.Mtu);
                var size = (mtu - 28).ToString(CultureInfo.InvariantCulture);
                var probes = new List<Probe>();
                foreach (var to in destinations.Where(d => d.Name != input.Host.Name))
                {
                    var target = held[to.Name].Subnet.Gateway.ToString();
                    var ping = await runner.RunAsync(CommandSpec.Of("ping", "-n", "-q", "-c", "1", "-W", "2", "-M", "do", "-s", size,
                        "-I", input.Lease.Subnet.Gateway.ToString(), target), token).ConfigureAwait(false);
                    probes.Add(new Probe(input.Host.Name, to.Name, target, mtu, ping.Succeeded, ping.Succeeded ? null : Reason(ping)));
                }
                return probes;
            }, ct).ConfigureAwait(false);
            var probes = results.SelectMany(r => r.Value ?? destinations.Where(d => d.Name != r.Host)
                .Select(d => new Probe(r.Host, d.Name, held.TryGetValue(d.Name, out var l) ? l.Subnet.Gateway.ToString() : "-", 0, false, r.Error))).ToList();
            var report = new VerifyReport(probes.All(p => p.Ok), probes);
            context.Out.Write(report, VerifyJsonContext.Default.VerifyReport, r => Human(r, sources.Select(s => s.Name).ToList(), destinations.Select(d => d.Name).ToList()));
            foreach (var broken in probes.Where(p => !p.Ok))
                context.Log.Error("{From} -> {To} ({Target}): {Reason}", broken.From, broken.To, broken.Target, broken.Reason);
            return report.Ok ? ExitCodes.Ok : ExitCodes.ChecksFailed;
        }));
        return command;
    }

    private static string Reason(CommandResult ping)
    {
        var text = (ping.StandardError + " " + ping.StandardOutput).Trim();
        if (text.Contains("message too long", StringComparison.OrdinalIgnoreCase) || text.Contains("Frag needed", StringComparison.OrdinalIgnoreCase))
            return "too big for the path: MTU mismatch between the overlay and the underlay";
        return text.Contains(" 0 received", StringComparison.Ordinal) ? "no reply within 2 s" : text.Split('\n')[0];
    }

    private static string Human(VerifyReport report, IReadOnlyList<string> from, IReadOnlyList<string> to)
    {
        var table = new Table(["FROM \\ TO", .. to]);
        foreach (var f in from)
            table.Add([f, .. to.Select(t => t == f ? "·" : report.Probes.FirstOrDefault(p => p.From == f && p.To == t) is { } p ? (p.Ok ? "ok" : "FAIL") : "-")]);
        var text = new StringBuilder(table.Render());
        var broken = report.Probes.Count(p => !p.Ok);
        text.Append(broken == 0
            ? string.Create(CultureInfo.InvariantCulture, $"all {report.Probes.Count} pairs reach each other at the overlay MTU\n")
            : string.Create(CultureInfo.InvariantCulture, $"{broken} of {report.Probes.Count} pairs broken\n"));
        return text.ToString();
    }
}

/// <summary>The shape of <c>verify -o json</c> (docs/output.md).</summary>
internal sealed record VerifyReport(bool Ok, IReadOnlyList<Probe> Probes);

/// <summary>One directed probe: from a host to another host's bridge gateway.</summary>
internal sealed record Probe(string From, string To, string Target, int Mtu, bool Ok, string? Reason);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(VerifyReport))]
internal sealed partial class VerifyJsonContext : JsonSerializerContext;
