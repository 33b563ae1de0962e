using System.CommandLine;
using System.Text;
using System.Text.Json.Serialization;
using OverlayCtl.Cli.Engine;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// <c>plan</c>, <c>apply</c> and <c>destroy</c>: the same drive over the hosts, differing only in
/// whether leases are written and plans executed.
/// </summary>
internal static class ConvergeCommands
{
    public static Command Plan(CommandSet commands)
    {
        var options = new ClusterOptions();
        var detailed = new Option<bool>("--detailed-exitcode") { Description = "exit 0 when there is nothing to do, 2 when there are changes, 1 on error" };
        var command = new Command("plan", "show, per host, the exact commands apply would run; changes nothing (not even etcd)") { detailed };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, store, driver) = options.Open(context);
            var snapshot = await store.SnapshotAsync(ct).ConfigureAwait(false);
            var existing = snapshot.Leases;
            var predicted = driver.Predict(snapshot);
            var outcomes = await driver.ConvergeAsync(targets, predicted, execute: false, ct).ConfigureAwait(false);
            var held = ClusterDriver.HeldBy(cluster, existing);
            Print(context, outcomes, o => !held.ContainsKey(o.Host));
            if (outcomes.Any(o => o.Result == HostResult.Failed)) return ExitCodes.HostFailed;
            var changes = outcomes.Any(o => o.Plan is { IsEmpty: false }) || targets.Any(t => !held.ContainsKey(t.Name));
            return context.Parse.GetValue(detailed) && changes ? ExitCodes.Changes : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Apply(CommandSet commands)
    {
        var options = new ClusterOptions();
        var dryRun = new Option<bool>("--dry-run") { Description = "allocate nothing and change nothing: the same as plan" };
        var command = new Command("apply", "allocate leases, then converge every host to the spec") { dryRun };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, store, driver) = options.Open(context);
            var dry = context.Parse.GetValue(dryRun);
            IReadOnlyList<Core.Leases.Lease> leases;
            if (dry)
            {
                leases = driver.Predict(await store.SnapshotAsync(ct).ConfigureAwait(false));
            }
            else
            {
                // Every spec host gets a lease even under --limit: peers must know each other's subnets.
                await driver.AllocateAsync(cluster.Hosts, ct).ConfigureAwait(false);
                leases = await store.ListAsync(ct).ConfigureAwait(false);
            }
            var outcomes = await driver.ConvergeAsync(targets, leases, execute: !dry, ct).ConfigureAwait(false);
            Print(context, outcomes, _ => false);
            return outcomes.Any(o => o.Result == HostResult.Failed) ? ExitCodes.HostFailed : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Destroy(CommandSet commands)
    {
        var options = new ClusterOptions();
        var release = new Option<bool>("--release-leases") { Description = "also delete the hosts' leases from etcd" };
        var dryRun = new Option<bool>("--dry-run") { Description = "show what would be removed; change nothing" };
        var command = new Command("destroy", "remove exactly what overlayctl made on the hosts (and, with --release-leases, their leases)") { release, dryRun };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, store, driver) = options.Open(context);
            var dry = context.Parse.GetValue(dryRun);
            var leases = await store.ListAsync(ct).ConfigureAwait(false);
            var outcomes = await driver.DestroyAsync(targets, leases, execute: !dry, ct).ConfigureAwait(false);
            if (!dry && context.Parse.GetValue(release))
            {
                foreach (var outcome in outcomes.Where(o => o.Result != HostResult.Failed && o.Lease is not null))
                {
                    await store.ReleaseAsync(outcome.Lease!.Subnet, ct).ConfigureAwait(false);
                    context.Log.Information("{Host}: released lease {Subnet}", outcome.Host, outcome.Lease.Subnet);
                }
            }
            Print(context, outcomes, _ => false);
            return outcomes.Any(o => o.Result == HostResult.Failed) ? ExitCodes.HostFailed : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The spec hosts named by --limit, in spec order; an unknown name is a usage error.</summary>
    public static IReadOnlyList<HostSpec> Targets(ClusterSpec cluster, string? limit)
    {
        if (string.IsNullOrWhiteSpace(limit)) return cluster.Hosts;
        var names = limit.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var unknown = names.Where(n => cluster.FindHost(n) is null).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"--limit names hosts not in {cluster.SourcePath}: {string.Join(", ", unknown)} (known: {string.Join(", ", cluster.Hosts.Select(h => h.Name))})");
        return cluster.Hosts.Where(h => names.Contains(h.Name)).ToList();
    }

    private static void Print(CliContext context, IReadOnlyList<HostOutcome> outcomes, Func<HostOutcome, bool> provisional)
    {
        var report = new ConvergeReport(outcomes.Select(o => new HostReport(
            o.Host,
            o.Lease?.Subnet.ToString(),
            provisional(o),
            o.Result.ToString().ToLowerInvariant(),
            o.Error,
            o.Plan?.Count(ChangeKind.Add) ?? 0,
            o.Plan?.Count(ChangeKind.Change) ?? 0,
            o.Plan?.Count(ChangeKind.Remove) ?? 0,
            o.Plan?.Operations.Select(op => new OperationReport(op.Kind.ToString().ToLowerInvariant(), op.Resource, op.Step.Render())).ToList() ?? [])).ToList());
        context.Out.Write(report, ConvergeJsonContext.Default.ConvergeReport, r => Human(r, outcomes));
    }

    private static string Human(ConvergeReport report, IReadOnlyList<HostOutcome> outcomes)
    {
        var text = new StringBuilder();
        var plans = outcomes.Where(o => o.Plan is not null).Select(o => o.Plan!).ToList();
        if (plans.Count > 0) text.Append(PlanRenderer.Render(new Plan(plans)));
        var recap = new Table("HOST", "SUBNET", "RESULT", "ADD", "CHANGE", "REMOVE", "DETAIL");
        foreach (var h in report.Hosts)
            recap.Add(h.Host, h.Subnet is null ? null : h.Subnet + (h.Provisional ? " (to allocate)" : ""), h.Result,
                h.Add.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Change.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Remove.ToString(System.Globalization.CultureInfo.InvariantCulture), h.Error);
        text.Append('\n').Append(recap.Render());
        return text.ToString();
    }
}

/// <summary>The shape of <c>plan|apply|destroy -o json</c> (docs/output.md).</summary>
internal sealed record ConvergeReport(IReadOnlyList<HostReport> Hosts);

/// <summary>One host's part of a converge report.</summary>
internal sealed record HostReport(
    string Host, string? Subnet, bool Provisional, string Result, string? Error, int Add, int Change, int Remove, IReadOnlyList<OperationReport> Operations);

/// <summary>One planned operation, with the exact command.</summary>
internal sealed record OperationReport(string Kind, string Resource, string Command);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConvergeReport))]
internal sealed partial class ConvergeJsonContext : JsonSerializerContext;
