using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Execute;
using OverlayCtl.Hosts.Observe;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>
/// One host, level-triggered: observe it, plan from its lease and every other lease, and (when asked)
/// execute the plan. What <c>apply</c> does per host and what an agent does on every change.
/// </summary>
public sealed class HostReconciler(ClusterSpec spec, ILogger log)
{
    public Task<ObservedHost> ObserveAsync(HostSpec host, IHostRunner runner, CancellationToken cancellationToken)
    {
        var daemon = spec.Docker.DaemonConfigFor(host);
        var files = new[] { daemon, daemon is null ? null : DockerFiles.BackupPath(daemon), spec.Docker.SubnetEnvFor(host) }.OfType<string>().ToList();
        return HostObserver.ObserveAsync(runner, new ObserveRequest(files, BackendRegistry.ReadsFor(spec, host)), cancellationToken);
    }

    /// <summary>Converges <paramref name="host"/> to its lease among <paramref name="leases"/> (all of them, its own included).</summary>
    public async Task<HostOutcome> ReconcileAsync(HostSpec host, Lease lease, IReadOnlyList<Lease> leases, IHostRunner runner, bool execute, CancellationToken cancellationToken)
    {
        var observed = await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var plan = Planner.PlanApply(new PlanInput(spec, host, lease, LeaseCoordinator.PeersOf(spec, lease, leases), observed));
        return await FinishAsync(host, Planned(host, lease, plan) with { Observed = observed }, runner, execute, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes everything overlayctl made on <paramref name="host"/>; <paramref name="force"/> also a docker bridge with containers on it.</summary>
    public async Task<HostOutcome> DestroyAsync(HostSpec host, Lease? lease, IHostRunner runner, bool execute, bool force, CancellationToken cancellationToken)
    {
        var observed = await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var plan = Planner.PlanDestroy(spec, host, lease, observed, force);
        return await FinishAsync(host, Planned(host, lease, plan), runner, execute, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Carries out a plan made earlier on <paramref name="host"/>, as it is.</summary>
    public async Task<HostOutcome> ExecuteAsync(HostSpec host, HostOutcome planned, IHostRunner runner, CancellationToken cancellationToken)
    {
        log.Information("{Host}: applying {Count} operation(s)", host.Name, planned.Plan!.Operations.Count);
        await PlanExecutor.ExecuteAsync(runner, planned.Plan, cancellationToken).ConfigureAwait(false);
        return planned;
    }

    private HostOutcome Planned(HostSpec host, Lease? lease, HostPlan plan)
    {
        foreach (var warning in plan.Warnings) log.Warning("{Host}: {Warning}", host.Name, warning);
        return new HostOutcome(host.Name, lease, plan, plan.IsEmpty ? HostResult.Ok : HostResult.Changed, null);
    }

    private Task<HostOutcome> FinishAsync(HostSpec host, HostOutcome planned, IHostRunner runner, bool execute, CancellationToken cancellationToken) =>
        execute && !planned.Plan!.IsEmpty ? ExecuteAsync(host, planned, runner, cancellationToken) : Task.FromResult(planned);
}
