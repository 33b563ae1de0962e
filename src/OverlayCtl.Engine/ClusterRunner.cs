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
            (host, error) => HostOutcome.Failed(host.Name, held.GetValueOrDefault(host.Name), error), cancellationToken,
            phase: execute ? "applying" : "planning",
            interrupted: (host, error) => HostOutcome.Interrupted(host.Name, held.GetValueOrDefault(host.Name), error),
            word: o => Word(o, execute)).ConfigureAwait(false);
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
            (host, error) => HostOutcome.Failed(host.Name, byHost[host.Name].Lease, error), cancellationToken,
            phase: "applying",
            // The plan stays in the recap: what was to be done, of which some may have run.
            interrupted: (host, error) => byHost[host.Name] with { Result = HostResult.Interrupted, Error = error });
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
            (host, error) => new Observation(host.Name, null, error), cancellationToken, quiet: true, phase: "preparing").ConfigureAwait(false);
        var all = new Dictionary<string, Observation>(observed, StringComparer.Ordinal);
        foreach (var p in prepared) all[p.Host] = p;
        return all;
    }

    /// <summary>One file from each target (null where it is absent or the host cannot be read), by host name.</summary>
    public async Task<IReadOnlyDictionary<string, string?>> ReadFilesAsync(IReadOnlyList<HostSpec> targets, Func<HostSpec, string> path, CancellationToken cancellationToken)
    {
        var read = await ForEachHostAsync(targets, async (host, runner, ct) => (host.Name, Text: await runner.ReadFileAsync(path(host), ct).ConfigureAwait(false)),
            (host, _) => (host.Name, Text: (string?)null), cancellationToken, quiet: true, phase: "reading").ConfigureAwait(false);
        return read.ToDictionary(r => r.Name, r => r.Text, StringComparer.Ordinal);
    }

    /// <summary>Reads each target's live state, in parallel; a host that cannot be read ends with its error.</summary>
    public async Task<IReadOnlyDictionary<string, Observation>> ObserveAsync(IReadOnlyList<HostSpec> targets, CancellationToken cancellationToken)
    {
        var seen = await ForEachHostAsync(targets, async (host, runner, ct) => new Observation(host.Name, await _reconciler.ObserveAsync(host, runner, ct).ConfigureAwait(false), null),
            (host, error) => new Observation(host.Name, null, error), cancellationToken, quiet: true, phase: "reading").ConfigureAwait(false);
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
        }, (host, error) => new Inspection<T>(host.Name, held.GetValueOrDefault(host.Name), default, error), cancellationToken, phase: "checking");
    }

    /// <summary>Plans (and executes) the removal of everything overlayctl made on each target.</summary>
    public Task<IReadOnlyList<HostOutcome>> DestroyAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, bool execute, bool force, CancellationToken cancellationToken)
    {
        var held = LeaseCoordinator.HeldBy(spec, all);
        return ForEachHostAsync(targets, (host, runner, ct) => _reconciler.DestroyAsync(host, held.GetValueOrDefault(host.Name), runner, execute, force, ct),
            (host, error) => HostOutcome.Failed(host.Name, held.GetValueOrDefault(host.Name), error), cancellationToken,
            phase: execute ? "destroying" : "planning",
            interrupted: (host, error) => HostOutcome.Interrupted(host.Name, held.GetValueOrDefault(host.Name), error),
            word: o => Word(o, execute));
    }

    /// <summary>The error of a target that holds no lease, so a front end can tell it from a host it could not reach.</summary>
    public const string NoLease = "holds no lease (run overlayctl apply or leases allocate)";

    /// <summary>
    /// Runs <paramref name="work"/> on each target through its runner, at most --parallel at once; a host that
    /// throws ends as <paramref name="failed"/> with its message (logged once, naming the host once), never
    /// stopping the others. With <paramref name="interrupted"/>, Ctrl-C ends each host still running or
    /// waiting as that (the others keep their results, and the caller can still report them all); without
    /// it, the cancellation is thrown. <paramref name="phase"/> names the pass for progress, <paramref name="word"/>
    /// a host's result there (default: a <see cref="HostOutcome"/>'s result, else ok); a
    /// <paramref name="quiet"/> pass only prepares another, so progress shows it live but records no line per host.
    /// </summary>
    public async Task<IReadOnlyList<T>> ForEachHostAsync<T>(
        IReadOnlyList<HostSpec> targets,
        Func<HostSpec, IHostRunner, CancellationToken, Task<T>> work,
        Func<HostSpec, string, T> failed,
        CancellationToken cancellationToken,
        bool quiet = false,
        string phase = "working on",
        Func<HostSpec, string, T>? interrupted = null,
        Func<T, string>? word = null)
    {
        using var gate = new SemaphoreSlim(Math.Max(1, parallel));
        progress?.Start(phase, targets.Count, detailed: !quiet);
        var tasks = targets.Select(async host =>
        {
            try
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (interrupted is not null)
            {
                progress?.HostDone(host.Name, Interrupted);
                return interrupted(host, InterruptedBeforeStart);
            }
            // A slot freed by a host that Ctrl-C just ended can reach a waiting host before the interrupt does: it must not start.
            if (interrupted is not null && cancellationToken.IsCancellationRequested)
            {
                gate.Release();
                progress?.HostDone(host.Name, Interrupted);
                return interrupted(host, InterruptedBeforeStart);
            }
            progress?.HostStarted(host.Name);
            var result = "failed";
            try
            {
                var value = await work(host, runners(host), cancellationToken).ConfigureAwait(false);
                result = word?.Invoke(value) ?? value switch
                {
                    HostOutcome o => o.Result.ToString().ToLowerInvariant(),
                    Observation { Error: not null } => "failed",
                    _ => "ok",
                };
                return value;
            }
            // Whatever a cancelled command threw (a killed process may fail before the cancellation shows).
            catch (Exception) when (interrupted is not null && cancellationToken.IsCancellationRequested)
            {
                result = Interrupted;
                log.Warning("{Host}: interrupted", host.Name);
                return interrupted(host, InterruptedWhileRunning);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.Error("{Error}", NamingHostOnce(host.Name, e.Message));
                return failed(host, e.Message);
            }
            finally
            {
                gate.Release();
                progress?.HostDone(host.Name, result);
            }
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private const string Interrupted = "interrupted";

    /// <summary>A host's word for progress: what was done, or for a plan what is to be done ("to change", never "changed").</summary>
    private static string Word(HostOutcome outcome, bool executed) => (outcome.Result, executed) switch
    {
        (HostResult.Changed, false) => "to change",
        (HostResult.Ok, false) => "no changes",
        var (result, _) => result.ToString().ToLowerInvariant(),
    };

    /// <summary>The error of a host Ctrl-C stopped while its work ran.</summary>
    public const string InterruptedWhileRunning = "interrupted (Ctrl-C or SIGTERM) while it ran: what ran stays, the rest did not run (fix: run the command again to finish)";

    /// <summary>The error of a host Ctrl-C came before: nothing ran on it.</summary>
    public const string InterruptedBeforeStart = "interrupted (Ctrl-C or SIGTERM) before it started: nothing ran on it (fix: run the command again)";

    /// <summary>"node4: ..." once: most errors from a host already begin with its name.</summary>
    internal static string NamingHostOnce(string host, string message) =>
        message.StartsWith(host + ": ", StringComparison.Ordinal) ? message : $"{host}: {message}";
}
