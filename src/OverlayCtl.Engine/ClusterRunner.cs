using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>
/// Fans work out over hosts, at most <paramref name="parallel"/> at once. One host failing never stops
/// the others; each ends as a value or its error.
/// </summary>
public sealed class ClusterRunner(ClusterSpec spec, Func<HostSpec, IHostRunner> runners, ILogger log, int parallel, IClusterProgress? progress = null)
{
    private readonly HostReconciler _reconciler = new(spec, log);

    /// <summary>
    /// Observes and plans each target (and executes the plan when <paramref name="execute"/>). With
    /// <paramref name="observed"/> (from <see cref="ObserveAsync"/>), a host is planned from what was seen
    /// then, and a host that could not be observed fails with that error.
    /// </summary>
    public async Task<IReadOnlyList<HostOutcome>> ConvergeAsync(
        IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, bool execute, CancellationToken cancellationToken, IReadOnlyDictionary<string, Observation>? observed = null)
    {
        var held = LeaseCoordinator.HeldBy(spec, all);
        return await ForEachHostAsync(targets, (host, runner, ct) =>
            {
                var seen = observed?.GetValueOrDefault(host.Name);
                if (seen?.Error is { } error) return Task.FromResult(HostOutcome.Failed(host.Name, held.GetValueOrDefault(host.Name), error));
                return held.TryGetValue(host.Name, out var lease)
                    ? _reconciler.ReconcileAsync(host, lease, all, runner, execute, ct, seen?.State)
                    : Task.FromResult(HostOutcome.Failed(host.Name, null, NoLease));
            },
            (host, error) => HostOutcome.Failed(host.Name, held.GetValueOrDefault(host.Name), error), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Carries out plans made earlier (by <see cref="ConvergeAsync"/> or <see cref="DestroyAsync"/> without
    /// execution; approved, or saved and checked) exactly as they are, without planning again, one outcome
    /// per target; a host that failed or has nothing to do keeps its outcome.
    /// </summary>
    public Task<IReadOnlyList<HostOutcome>> ExecuteAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<HostOutcome> planned, CancellationToken cancellationToken)
    {
        var byHost = planned.ToDictionary(o => o.Host, StringComparer.Ordinal);
        return ForEachHostAsync(targets, (host, runner, ct) => byHost[host.Name] is { Plan.IsEmpty: false, Result: not HostResult.Failed } outcome
                ? _reconciler.ExecuteAsync(host, outcome, runner, ct)
                : Task.FromResult(byHost[host.Name]),
            (host, error) => HostOutcome.Failed(host.Name, byHost[host.Name].Lease, error), cancellationToken);
    }

    /// <summary>
    /// Prepares each observed target whose backend must read it before leasing (<see cref="HostReconciler.PrepareLeaseAsync"/>),
    /// in parallel; returns the observations with those hosts read again (or their error).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, Observation>> PrepareLeasesAsync(IReadOnlyList<HostSpec> targets, IReadOnlyDictionary<string, Observation> observed, CancellationToken cancellationToken)
    {
        var needing = targets.Where(t => observed.GetValueOrDefault(t.Name)?.State is not null && BackendRegistry.LeaseNeedsHost(spec, t)).ToList();
        if (needing.Count == 0) return observed;
        var prepared = await ForEachHostAsync(needing,
            async (host, runner, ct) => new Observation(host.Name, await _reconciler.PrepareLeaseAsync(host, runner, ct, observed[host.Name].State).ConfigureAwait(false), null),
            (host, error) => new Observation(host.Name, null, error), cancellationToken, quiet: true).ConfigureAwait(false);
        var all = new Dictionary<string, Observation>(observed, StringComparer.Ordinal);
        foreach (var p in prepared) all[p.Host] = p;
        return all;
    }

    /// <summary>One file from each target (null where it is absent or the host cannot be read), by host name.</summary>
    public async Task<IReadOnlyDictionary<string, string?>> ReadFilesAsync(IReadOnlyList<HostSpec> targets, Func<HostSpec, string> path, CancellationToken cancellationToken)
    {
        var read = await ForEachHostAsync(targets, async (host, runner, ct) => (host.Name, Text: await runner.ReadFileAsync(path(host), ct).ConfigureAwait(false)),
            (host, _) => (host.Name, Text: (string?)null), cancellationToken, quiet: true).ConfigureAwait(false);
        return read.ToDictionary(r => r.Name, r => r.Text, StringComparer.Ordinal);
    }

    /// <summary>Reads each target's live state, in parallel; a host that cannot be read ends with its error.</summary>
    public async Task<IReadOnlyDictionary<string, Observation>> ObserveAsync(IReadOnlyList<HostSpec> targets, CancellationToken cancellationToken)
    {
        var seen = await ForEachHostAsync(targets, async (host, runner, ct) => new Observation(host.Name, await _reconciler.ObserveAsync(host, runner, ct).ConfigureAwait(false), null),
            (host, error) => new Observation(host.Name, null, error), cancellationToken, quiet: true).ConfigureAwait(false);
        return seen.ToDictionary(o => o.Host, StringComparer.Ordinal);
    }

    /// <summary>
    /// Observes each target that holds a lease and hands its plan input (spec, lease, peers, live state)
    /// to <paramref name="work"/>, in parallel. A host that fails ends with its error, never stopping the rest.
    /// </summary>
    public Task<IReadOnlyList<Inspection<T>>> InspectAsync<T>(
        IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, Func<PlanInput, IHostRunner, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var held = LeaseCoordinator.HeldBy(spec, all);
        return ForEachHostAsync(targets, async (host, runner, ct) =>
        {
            if (!held.TryGetValue(host.Name, out var lease)) return new Inspection<T>(host.Name, null, default, NoLease);
            var observed = await _reconciler.ObserveAsync(host, runner, ct).ConfigureAwait(false);
            var input = new PlanInput(spec, host, lease, LeaseCoordinator.PeersOf(spec, lease, all), observed);
            return new Inspection<T>(host.Name, lease, await work(input, runner, ct).ConfigureAwait(false), null);
        }, (host, error) => new Inspection<T>(host.Name, held.GetValueOrDefault(host.Name), default, error), cancellationToken);
    }

    /// <summary>Plans (and executes) the removal of everything overlayctl made on each target.</summary>
    public Task<IReadOnlyList<HostOutcome>> DestroyAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, bool execute, bool force, CancellationToken cancellationToken)
    {
        var held = LeaseCoordinator.HeldBy(spec, all);
        return ForEachHostAsync(targets, (host, runner, ct) => _reconciler.DestroyAsync(host, held.GetValueOrDefault(host.Name), runner, execute, force, ct),
            (host, error) => HostOutcome.Failed(host.Name, held.GetValueOrDefault(host.Name), error), cancellationToken);
    }

    private const string NoLease = "holds no lease (run overlayctl apply or leases allocate)";

    /// <summary>
    /// Runs <paramref name="work"/> on each target through its runner, at most --parallel at once; a host that
    /// throws ends as <paramref name="failed"/> with its message (logged), never stopping the others.
    /// </summary>
    public async Task<IReadOnlyList<T>> ForEachHostAsync<T>(
        IReadOnlyList<HostSpec> targets,
        Func<HostSpec, IHostRunner, CancellationToken, Task<T>> work,
        Func<HostSpec, string, T> failed,
        CancellationToken cancellationToken,
        bool quiet = false)
    {
        using var gate = new SemaphoreSlim(Math.Max(1, parallel));
        var shown = quiet ? null : progress;
        shown?.Start(targets.Count);
        var tasks = targets.Select(async host =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            var ok = false;
            try
            {
                var result = await work(host, runners(host), cancellationToken).ConfigureAwait(false);
                ok = true;
                return result;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.Error("{Host}: {Message}", host.Name, e.Message);
                return failed(host, e.Message);
            }
            finally
            {
                gate.Release();
                shown?.HostDone(host.Name, ok);
            }
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
