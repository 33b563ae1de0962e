using System.CommandLine;
using System.Text;
using System.Text.Json.Serialization;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Hosts.Observe;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl doctor -f SPEC [HOST]</c>: named checks for the failures overlay users fight, each with its fix.</summary>
internal static class DoctorCommand
{
    public static Command Create(CommandSet commands)
    {
        var options = new ClusterOptions();
        var host = new Argument<string?>("HOST") { Description = "check only this spec host", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("doctor", "diagnose hosts and leases: FORWARD drops, ip_forward, MTU, filtered VXLAN port, VTEP MAC, fdb/neigh, bip, Docker masquerade, stale leases, rp_filter, checksum offload") { host };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, store, engine) = options.Open(context);
            if (context.Parse.GetValue(host) is { } only)
            {
                // HOST is doctor's own argument: its error names it, not --limit.
                targets = cluster.Hosts.Where(h => h.Name == only).ToList();
                if (targets.Count == 0)
                    throw new UsageException($"doctor: {only} is not a host in {cluster.SourcePath} (fix: name one of {string.Join(", ", cluster.Hosts.Select(h => h.Name))}, or no HOST to check them all)");
            }
            var snapshot = await store.SnapshotAsync(ct).ConfigureAwait(false);
            var leases = snapshot.Leases;
            var findings = new List<Finding>(Doctor.CheckLeases(cluster, snapshot));
            var results = await engine.Hosts.InspectAsync(targets, leases, async (input, runner, token) =>
            {
                var facts = await FactsObserver.ObserveAsync(runner, input, token).ConfigureAwait(false);
                return Doctor.CheckHost(input, facts);
            }, ct).ConfigureAwait(false);
            foreach (var r in results)
                findings.AddRange(r.Value ?? [Unchecked(r.Host, r.Error, cluster.SourcePath)]);
            var report = new DoctorReport(
                targets.Select(t => t.Name).ToList(),
                Doctor.ChecksFor(cluster.Network.Backend).Select(c => c.Name).ToList(),
                findings.Select(f => new DoctorFinding(f.Check, f.Host, f.Severity.ToString().ToLowerInvariant(), f.Problem, f.Fix)).ToList());
            context.Out.Write(report, DoctorJsonContext.Default.DoctorReport, r => Human(r, context.Color));
            return findings.Any(f => f.Severity == Severity.Error) ? ExitCodes.ChecksFailed : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Why a host has no findings of its own: it holds no lease (nothing to check against; apply leases
    /// it), or it could not be reached or read.
    /// </summary>
    private static Finding Unchecked(string host, string? error, string spec) => error == OverlayCtl.Engine.ClusterRunner.NoLease
        ? new Finding("leases", host, Severity.Error, "holds no lease: it has no subnet yet, so nothing on it can be checked",
            $"run overlayctl apply -f {spec} (it leases every spec host and converges it), or overlayctl leases allocate -f {spec} to lease only")
        : new Finding("reachable", host, Severity.Error, error ?? "could not be checked", "check the host's connection: in the spec (ssh key, namespace name)");

    private static string Human(DoctorReport report, bool color)
    {
        if (report.Findings.Count == 0)
            return $"{report.Hosts.Count} host(s), {report.Checks.Count} checks: no problems found\n";
        var text = new StringBuilder();
        foreach (var f in report.Findings)
            text.Append(f.Severity == "error" ? Paint("✗ ", "31", color) : Paint("! ", "33", color)).Append(f.Host).Append(" [").Append(f.Check).Append("] ").Append(f.Problem).Append('\n')
                .Append("    fix: ").Append(f.Fix).Append('\n');
        return text.ToString();
    }

    private static string Paint(string text, string sgr, bool color) => color ? $"\u001b[{sgr}m{text}\u001b[0m" : text;
}

/// <summary>The shape of <c>doctor -o json</c> (docs/output.md).</summary>
internal sealed record DoctorReport(IReadOnlyList<string> Hosts, IReadOnlyList<string> Checks, IReadOnlyList<DoctorFinding> Findings);

/// <summary>One finding; severity is "error" or "warning".</summary>
internal sealed record DoctorFinding(string Check, string Host, string Severity, string Problem, string Fix);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(DoctorReport))]
internal sealed partial class DoctorJsonContext : JsonSerializerContext;
