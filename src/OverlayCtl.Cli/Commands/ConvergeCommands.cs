using System.CommandLine;
using System.Text;
using System.Text.Json.Serialization;
using OverlayCtl.Engine;
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
            var (_, targets, _, engine) = options.Open(context);
            var (outcomes, provisional) = await engine.PlanAsync(targets, ct).ConfigureAwait(false);
            Print(context, outcomes, o => provisional.Contains(o.Host));
            if (outcomes.Any(o => o.Result == HostResult.Failed)) return ExitCodes.HostFailed;
            var changes = outcomes.Any(o => o.Plan is { IsEmpty: false }) || provisional.Count > 0;
            return context.Parse.GetValue(detailed) && changes ? ExitCodes.Changes : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Apply(CommandSet commands)
    {
        var options = new ClusterOptions(locks: true);
        var dryRun = new Option<bool>("--dry-run") { Description = "allocate nothing and change nothing: the same as plan" };
        var autoApprove = Confirmation.AutoApproveOption("apply without showing the plan and asking first (only asked on a terminal)");
        var command = new Command("apply", "allocate leases, then converge every host to the spec") { dryRun, autoApprove };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var declined = false;
            var approve = context.Parse.GetValue(dryRun) ? null : Confirmation.For(context, "apply", context.Parse.GetValue(autoApprove), destroys: false, () => declined = true);
            var (_, targets, _, engine) = options.Open(context);
            var outcomes = await engine.ApplyAsync(targets, context.Parse.GetValue(dryRun), ct, approve).ConfigureAwait(false);
            if (declined) return Declined(context);
            Print(context, outcomes, _ => false);
            return outcomes.Any(o => o.Result == HostResult.Failed) ? ExitCodes.HostFailed : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Destroy(CommandSet commands)
    {
        var options = new ClusterOptions(locks: true);
        var release = new Option<bool>("--release-leases") { Description = "also delete the hosts' leases from etcd" };
        var dryRun = new Option<bool>("--dry-run") { Description = "show what would be removed; change nothing" };
        var force = new Option<bool>("--force") { Description = "also delete a docker bridge that has containers attached (kept and reported otherwise)" };
        var autoApprove = Confirmation.AutoApproveOption("destroy without showing the plan and asking first; required when standard input is not a terminal");
        var command = new Command("destroy", "remove exactly what overlayctl made on the hosts (and, with --release-leases, their leases)") { release, dryRun, force, autoApprove };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var declined = false;
            var approve = context.Parse.GetValue(dryRun) ? null : Confirmation.For(context, "destroy", context.Parse.GetValue(autoApprove), destroys: true, () => declined = true);
            var (_, targets, _, engine) = options.Open(context);
            var outcomes = await engine.DestroyAsync(targets, context.Parse.GetValue(release), context.Parse.GetValue(dryRun), ct, context.Parse.GetValue(force), approve).ConfigureAwait(false);
            if (declined) return Declined(context);
            Print(context, outcomes, _ => false);
            return outcomes.Any(o => o.Result == HostResult.Failed) ? ExitCodes.HostFailed : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The answer was not "yes": nothing on any host changed.</summary>
    private static int Declined(CliContext context)
    {
        context.Stderr.WriteLine("overlayctl: not confirmed; no host was changed");
        return ExitCodes.Error;
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
            o.Plan?.Count(ChangeKind.Replace) ?? 0,
            o.Plan?.Count(ChangeKind.Remove) ?? 0,
            o.Plan?.Operations.Select(op => new OperationReport(op.Kind.ToString().ToLowerInvariant(), op.Address.Type, op.Address.ToString(), op.Render())).ToList() ?? [],
            o.Plan?.Warnings ?? [],
            o.DockerRestart is { } restart ? new DockerRestartReport(restart.Bip, restart.Command, restart.Ran) : null)).ToList());
        context.Out.Write(report, ConvergeJsonContext.Default.ConvergeReport, r => Human(r, outcomes));
    }

    private static string Human(ConvergeReport report, IReadOnlyList<HostOutcome> outcomes)
    {
        var text = new StringBuilder();
        var plans = outcomes.Where(o => o.Plan is not null).Select(o => o.Plan!).ToList();
        if (plans.Count > 0) text.Append(PlanRenderer.Render(new Plan(plans)));
        var recap = new Table("HOST", "SUBNET", "RESULT", "ADD", "CHANGE", "REPLACE", "REMOVE", "DETAIL");
        foreach (var h in report.Hosts)
            recap.Add(h.Host, h.Subnet is null ? null : h.Subnet + (h.Provisional ? " (to allocate)" : ""), h.Result,
                h.Add.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Change.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Replace.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Remove.ToString(System.Globalization.CultureInfo.InvariantCulture), h.Error);
        text.Append('\n').Append(recap.Render());
        // A restart still due is the plan's warning, above.
        foreach (var o in outcomes.Where(o => o.DockerRestart is { Ran: true }))
            text.Append($"{o.Host}: dockerd restarted ({o.DockerRestart!.Command}); {o.DockerRestart.Bip} is on the docker bridge\n");
        return text.ToString();
    }
}

/// <summary>The shape of <c>plan|apply|destroy -o json</c> (docs/output.md).</summary>
internal sealed record ConvergeReport(IReadOnlyList<HostReport> Hosts);

/// <summary>One host's part of a converge report.</summary>
internal sealed record HostReport(
    string Host, string? Subnet, bool Provisional, string Result, string? Error, int Add, int Change, int Replace, int Remove, IReadOnlyList<OperationReport> Operations,
    IReadOnlyList<string> Warnings, DockerRestartReport? DockerRestart);

/// <summary>Set when apply changed daemon.json: the bip dockerd must restart to use, the docker.restart command and whether it ran.</summary>
internal sealed record DockerRestartReport(string Bip, string? Command, bool Ran);

/// <summary>
/// One planned operation: its action (<see cref="Kind"/>), the resource's type and name, and the exact
/// commands (a replacement's delete and create, one per line).
/// </summary>
internal sealed record OperationReport(string Kind, string Type, string Resource, string Command);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConvergeReport))]
internal sealed partial class ConvergeJsonContext : JsonSerializerContext;
