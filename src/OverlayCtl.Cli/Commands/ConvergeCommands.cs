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
        var save = new Option<string?>("--out", "-out") { Description = "also save the plan (the document -o json prints) to FILE, for apply FILE", HelpName = "FILE" };
        var command = new Command("plan", "show, per host, the exact commands apply would run; changes nothing (not even etcd)") { detailed, save };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, _, engine) = options.Open(context);
            var plan = await engine.PlanAsync(targets, ct).ConfigureAwait(false);
            var document = PlanDocument.From(plan, new PlannedSpec(Path.GetFullPath(cluster.SourcePath), cluster.Digest), DateTimeOffset.UtcNow);
            context.Out.Write(document, ConvergeJsonContext.Default.PlanDocument, d => Human(d.Hosts, plan.Outcomes, planned: true, context.Color));
            var failed = plan.Outcomes.Where(o => o.Result is HostResult.Failed or HostResult.Interrupted).Select(o => o.Host).ToList();
            if (context.Parse.GetValue(save) is { } file)
            {
                if (failed.Count > 0)
                    context.Log.Error("not saving the plan to {File}: {Hosts} could not be planned; fix them and plan again", file, string.Join(", ", failed));
                else
                {
                    SavedPlans.Write(file, document);
                    context.Log.Information("saved the plan to {File}; apply exactly it with: overlayctl apply -f {Spec} {File}", file, cluster.SourcePath, file);
                }
            }
            if (plan.Outcomes.Any(o => o.Result == HostResult.Interrupted)) return ExitCodes.Interrupted;
            if (failed.Count > 0) return ExitCodes.HostFailed;
            var changes = plan.Outcomes.Any(o => o.Plan is { IsEmpty: false }) || plan.Provisional.Count > 0;
            return context.Parse.GetValue(detailed) && changes ? ExitCodes.Changes : ExitCodes.Ok;
        }));
        return command;
    }

    public static Command Apply(CommandSet commands)
    {
        var options = new ClusterOptions(locks: true);
        var dryRun = new Option<bool>("--dry-run") { Description = "allocate nothing and change nothing: the same as plan" };
        var saved = new Argument<string?>("PLAN")
        {
            Description = "a plan saved by plan -out: apply exactly it, or nothing (exit 7) if the spec, etcd or a host changed since",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var autoApprove = Confirmation.AutoApproveOption("apply without showing the plan and asking first (only asked on a terminal; a saved plan is never asked again)");
        var command = new Command("apply", "allocate leases, then converge every host to the spec (or apply a saved plan)") { dryRun, saved, autoApprove };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, _, engine) = options.Open(context);
            IReadOnlyList<HostOutcome> outcomes;
            if (context.Parse.GetValue(saved) is { } file)
            {
                if (context.Parse.GetValue(options.Limit) is not null || context.Parse.GetValue(dryRun))
                    throw new UsageException("a saved plan is applied whole: drop --limit and --dry-run (plan -out with --limit saves a plan for those hosts)");
                var document = SavedPlans.Read(file);
                if (document.Spec.Sha256 != cluster.Digest)
                    throw new StalePlanException([$"the spec {cluster.SourcePath} changed since the plan (made from {document.Spec.Path})"]);
                outcomes = await engine.ApplyPlanAsync(document, ct).ConfigureAwait(false);
            }
            else
            {
                var declined = false;
                var approve = context.Parse.GetValue(dryRun) ? null : Confirmation.For(context, "apply", context.Parse.GetValue(autoApprove), destroys: false, () => declined = true);
                outcomes = await engine.ApplyAsync(targets, context.Parse.GetValue(dryRun), ct, approve).ConfigureAwait(false);
                if (declined) return Declined(context);
            }
            Print(context, outcomes, planned: context.Parse.GetValue(dryRun));
            Limits.WriteRetry(context, cluster, Failed(outcomes));
            return ExitCode(outcomes);
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
            var (cluster, targets, _, engine) = options.Open(context);
            var outcomes = await engine.DestroyAsync(targets, context.Parse.GetValue(release), context.Parse.GetValue(dryRun), ct, context.Parse.GetValue(force), approve).ConfigureAwait(false);
            if (declined) return Declined(context);
            Print(context, outcomes, planned: context.Parse.GetValue(dryRun));
            Limits.WriteRetry(context, cluster, Failed(outcomes));
            return ExitCode(outcomes);
        }));
        return command;
    }

    public static Command RotateKeys(CommandSet commands)
    {
        var options = new ClusterOptions(locks: true);
        var dryRun = new Option<bool>("--dry-run") { Description = "change nothing: show each host's new key to be made, then the plan" };
        var command = new Command("rotate-keys",
            "give the hosts (--limit: those) new key pairs, made on each host (wireguard), publish the public keys in their leases and converge every peer") { dryRun };
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, _, engine) = options.Open(context);
            var backend = cluster.Network.Backend;
            if (!backend.RotateKeys(cluster, cluster.Hosts[0], Core.State.ObservedHost.Empty).Any())
                throw new UsageException($"backend {backend.Name} has no keys to rotate (wireguard has)");
            var outcomes = await engine.RotateKeysAsync(targets, context.Parse.GetValue(dryRun), ct).ConfigureAwait(false);
            Print(context, outcomes, planned: context.Parse.GetValue(dryRun));
            Limits.WriteRetry(context, cluster, Failed(outcomes));
            return ExitCode(outcomes);
        }));
        return command;
    }

    /// <summary>The hosts a retry should take: those that failed, and those Ctrl-C ended or kept from starting.</summary>
    private static IReadOnlyList<string> Failed(IReadOnlyList<HostOutcome> outcomes) =>
        [.. outcomes.Where(o => o.Result is HostResult.Failed or HostResult.Interrupted).Select(o => o.Host)];

    /// <summary>The answer was not "yes": nothing on any host changed.</summary>
    private static int Declined(CliContext context)
    {
        context.Stderr.WriteLine("overlayctl: not confirmed; no host was changed");
        return ExitCodes.Error;
    }

    /// <summary>Prints the outcomes; <paramref name="planned"/>: nothing was executed (--dry-run), so the recap says what is to be done, not what was.</summary>
    private static void Print(CliContext context, IReadOnlyList<HostOutcome> outcomes, bool planned = false)
    {
        var report = new ConvergeReport(outcomes.Select(o => HostReport.From(o, provisional: false)).ToList());
        context.Out.Write(report, ConvergeJsonContext.Default.ConvergeReport, r => Human(r.Hosts, outcomes, planned, context.Color));
    }

    /// <summary>
    /// The plans, then the recap. A plan's recap has a PLAN column (<c>no changes</c>, <c>to change</c>),
    /// never apply's RESULT (<c>ok</c>, <c>changed</c>): nothing has changed yet.
    /// </summary>
    internal static string Human(IReadOnlyList<HostReport> hosts, IReadOnlyList<HostOutcome> outcomes, bool planned, bool color = false)
    {
        var text = new StringBuilder();
        var plans = outcomes.Where(o => o.Plan is not null).Select(o => o.Plan!).ToList();
        if (plans.Count > 0) text.Append(Colors.Plan(PlanRenderer.Render(new Plan(plans)), color));
        var recap = new Table("HOST", "SUBNET", planned ? "PLAN" : "RESULT", "ADD", "CHANGE", "REPLACE", "REMOVE", "DETAIL");
        foreach (var h in hosts)
            recap.Add(h.Host, h.Subnet is null ? null : h.Subnet + (h.Provisional ? " (to allocate)" : ""), planned ? Planned(h.Result) : h.Result,
                h.Add.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Change.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Replace.ToString(System.Globalization.CultureInfo.InvariantCulture),
                h.Remove.ToString(System.Globalization.CultureInfo.InvariantCulture), h.Error is null ? null : WithoutHost(h.Host, h.Error));
        text.Append('\n').Append(recap.Render((column, cell) => color && column == 2 ? Colors.Of(cell) : null));
        // A restart still due is the plan's warning, above.
        foreach (var o in outcomes.Where(o => o.DockerRestart is { Ran: true }))
            text.Append($"{o.Host}: dockerd restarted ({o.DockerRestart!.Command}); {o.DockerRestart.Bip} is on the docker bridge\n");
        return text.ToString();
    }

    /// <summary>The recap's HOST column names the host; its DETAIL need not name it again ("node4: node4: ...").</summary>
    private static string WithoutHost(string host, string error) =>
        error.StartsWith(host + ": ", StringComparison.Ordinal) ? error[(host.Length + 2)..] : error;

    /// <summary>Exit 130 when Ctrl-C stopped a host (the recap was printed first), 4 when one failed, else 0.</summary>
    private static int ExitCode(IReadOnlyList<HostOutcome> outcomes) =>
        outcomes.Any(o => o.Result == HostResult.Interrupted) ? ExitCodes.Interrupted
        : outcomes.Any(o => o.Result == HostResult.Failed) ? ExitCodes.HostFailed
        : ExitCodes.Ok;

    private static string Planned(string result) => result switch
    {
        "ok" => "no changes",
        "changed" => "to change",
        _ => result,
    };
}

/// <summary>The shape of <c>apply|destroy -o json</c> (docs/output.md); <c>plan -o json</c> prints a <see cref="PlanDocument"/>.</summary>
internal sealed record ConvergeReport(IReadOnlyList<HostReport> Hosts);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConvergeReport))]
[JsonSerializable(typeof(PlanDocument))]
internal sealed partial class ConvergeJsonContext : JsonSerializerContext;
