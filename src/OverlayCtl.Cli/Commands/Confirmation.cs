using OverlayCtl.Core.Planning;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// apply and destroy ask before they change hosts, as terraform does: on a terminal they show the plan and
/// go on only after "yes". destroy without a terminal refuses unless <c>--auto-approve</c> (removing a
/// network must never be an accident of a script); apply without one runs as it always has, so scripts and
/// CI keep working.
/// </summary>
internal static class Confirmation
{
    /// <summary>
    /// The engine's approval for this run: null when nothing is to be asked (<c>--auto-approve</c>, or
    /// apply off a terminal). <paramref name="destroys"/>: the run removes, so it cannot go on without an
    /// answer (throws, before anything is touched, off a terminal) and asks even when no host has anything
    /// to remove (leases may still be released); apply with nothing to do just goes on.
    /// </summary>
    public static Approval? For(CliContext context, string verb, bool autoApprove, bool destroys, Action declined)
    {
        if (autoApprove) return null;
        if (!context.Terminal.Interactive)
        {
            if (!destroys) return null;
            throw new UsageException($"{verb} asks for confirmation, but standard input is not a terminal (fix: pass --auto-approve to {verb} without asking, or --dry-run to only see the plan)");
        }
        return (planned, _) =>
        {
            var plans = planned.Where(o => o.Plan is not null).Select(o => o.Plan!).ToList();
            if (!destroys && plans.All(p => p.IsEmpty)) return Task.FromResult(true);
            context.Stderr.Write(PlanRenderer.Render(new Plan(plans)));
            context.Stderr.Write($"\n{verb} will change {plans.Count(p => !p.IsEmpty)} host(s) as shown above. Type yes to go on: ");
            context.Stderr.Flush();
            var yes = context.Terminal.ReadLine()?.Trim() == "yes";
            if (!yes) declined();
            return Task.FromResult(yes);
        };
    }

    /// <summary><c>--auto-approve</c>: go on without asking.</summary>
    public static System.CommandLine.Option<bool> AutoApproveOption(string description) => new("--auto-approve") { Description = description };
}
