using OverlayCtl.Core.Backends;
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
        var files = new[] { spec.Docker.DaemonConfigFor(host), spec.Docker.SubnetEnvFor(host) }.OfType<string>().ToList();
        return HostObserver.ObserveAsync(runner, new ObserveRequest(files, BackendRegistry.ReadsFor(spec, host)), cancellationToken);
    }

    /// <summary>
    /// Converges <paramref name="host"/> to its lease among <paramref name="leases"/> (all of them, its own
    /// included), from <paramref name="observed"/> when the caller read the host already (a preflight).
    /// </summary>
    public async Task<HostOutcome> ReconcileAsync(HostSpec host, Lease lease, IReadOnlyList<Lease> leases, IHostRunner runner, bool execute, CancellationToken cancellationToken, ObservedHost? observed = null)
    {
        observed ??= await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var plan = Planner.PlanApply(new PlanInput(spec, host, lease, LeaseCoordinator.PeersOf(spec, lease, leases), observed));
        return await FinishAsync(host, lease, plan, runner, execute, cancellationToken).ConfigureAwait(false) with { Observed = observed };
    }

    /// <summary>Executes a plan made earlier for <paramref name="host"/>.</summary>
    public Task<HostOutcome> ExecuteAsync(HostSpec host, Lease lease, HostPlan plan, IHostRunner runner, CancellationToken cancellationToken) =>
        FinishAsync(host, lease, plan, runner, execute: true, cancellationToken);

    /// <summary>Removes everything overlayctl made on <paramref name="host"/>.</summary>
    public async Task<HostOutcome> DestroyAsync(HostSpec host, Lease? lease, IHostRunner runner, bool execute, CancellationToken cancellationToken)
    {
        var observed = await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var plan = Planner.PlanDestroy(spec, host, lease, observed);
        return await FinishAsync(host, lease, plan, runner, execute, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HostOutcome> FinishAsync(HostSpec host, Lease? lease, HostPlan plan, IHostRunner runner, bool execute, CancellationToken cancellationToken)
    {
        if (!execute || plan.IsEmpty)
            return new HostOutcome(host.Name, lease, plan, plan.IsEmpty ? HostResult.Ok : HostResult.Changed, null);
        log.Information("{Host}: applying {Count} operation(s)", host.Name, plan.Operations.Count);
        await PlanExecutor.ExecuteAsync(runner, plan, cancellationToken).ConfigureAwait(false);
        return new HostOutcome(host.Name, lease, plan, HostResult.Changed, null);
    }
}
