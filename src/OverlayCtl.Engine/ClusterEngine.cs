using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Execute;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.Verification;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>
/// The use cases, whatever the front end: plan, apply and destroy a cluster from its spec and its
/// leases. The command line parses, calls one of these and prints; an agent calls the same. Runs that
/// change hosts hold the cluster lock, so two of them never interleave (they once left duplicate rules);
/// plans and dry runs take none.
/// </summary>
public sealed class ClusterEngine(ClusterSpec spec, ILeaseStore store, Func<HostSpec, IHostRunner> runners, ILogger log, int parallel = 10, IClusterProgress? progress = null, ClusterLocking? locking = null)
{
    private readonly ClusterLocking _locking = locking ?? new ClusterLocking(LockHolder.Current("overlayctl"), TimeSpan.Zero);

    public LeaseCoordinator Leases { get; } = new(spec, store, log);

    public ClusterRunner Hosts { get; } = new(spec, runners, log, parallel, progress);

    /// <summary>
    /// What apply would do, changing nothing (not even etcd): the same preflight, leases predicted, every
    /// target planned.
    /// </summary>
    public async Task<PlanResult> PlanAsync(IReadOnlyList<HostSpec> targets, CancellationToken cancellationToken)
    {
        var snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        var observed = await PreflightAsync(targets, snapshot, cancellationToken).ConfigureAwait(false);
        var outcomes = await Hosts.ConvergeAsync(targets, Leases.Predict(snapshot, Observation.States(observed)), execute: false, cancellationToken, observed).ConfigureAwait(false);
        var held = LeaseCoordinator.HeldBy(spec, snapshot.Leases);
        return new PlanResult(outcomes, targets.Where(t => !held.ContainsKey(t.Name)).Select(t => t.Name).ToHashSet(StringComparer.Ordinal), snapshot);
    }

    /// <summary>
    /// Applies a saved plan exactly, or nothing: under the lock, etcd and every host must be as they were
    /// when it was made (fingerprints), and planning again from that same state must give exactly the saved
    /// operations (so a plan file edited by hand, or made by another version, runs nothing). Only then are
    /// leases allocated and the plan executed.
    /// </summary>
    public async Task<IReadOnlyList<HostOutcome>> ApplyPlanAsync(PlanDocument saved, CancellationToken cancellationToken)
    {
        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var stale = new List<string>();
        var snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (Fingerprint.Of(snapshot) != saved.Etcd.Fingerprint)
            stale.Add($"the leases or network config in etcd changed (revision {saved.Etcd.Revision} then, {snapshot.Revision} now)");
        var targets = new List<HostSpec>();
        foreach (var host in saved.Hosts)
        {
            if (host.Result == "failed") stale.Add($"{host.Host} failed when planned ({host.Error})");
            else if (spec.FindHost(host.Host) is { } found) targets.Add(found);
            else stale.Add($"{host.Host} is no longer in the spec");
        }
        var observed = await Hosts.ObserveAsync(targets, cancellationToken).ConfigureAwait(false);
        foreach (var host in saved.Hosts.Where(h => observed.ContainsKey(h.Host)))
        {
            var now = observed[host.Host];
            if (now.State is null) stale.Add($"{host.Host} could not be observed ({now.Error})");
            else if (Fingerprint.Of(now.State) != host.Fingerprint) stale.Add($"{host.Host} changed since the plan");
        }
        if (stale.Count > 0) throw new StalePlanException(stale);

        var again = await Hosts.ConvergeAsync(targets, Leases.Predict(snapshot, Observation.States(observed)), execute: false, cancellationToken, observed).ConfigureAwait(false);
        foreach (var (outcome, host) in again.Zip(saved.Hosts.Where(h => observed.ContainsKey(h.Host))))
        {
            var ops = outcome.Plan?.Operations.Select(OperationReport.From).ToList();
            if (outcome.Lease?.Subnet.ToString() != host.Subnet || ops is null || !ops.SequenceEqual(host.Operations))
                stale.Add($"{host.Host}: planning again from the same state gives other operations (a plan edited by hand, or made by another overlayctl version?)");
        }
        if (stale.Count > 0) throw new StalePlanException(stale);

        // Only a flannel node writing between the snapshot and now (it takes no lock) can make these differ.
        var allocated = await Leases.AllocateAsync(spec.Hosts, cancellationToken, Observation.States(observed), snapshot.Leases).ConfigureAwait(false);
        stale.AddRange(again.Where(o => allocated[o.Host].Subnet != o.Lease?.Subnet)
            .Select(o => $"{o.Host} was given {allocated[o.Host].Subnet}, not the planned {o.Lease?.Subnet} (leases were written; no host was touched)"));
        if (stale.Count > 0) throw new StalePlanException(stale);
        var outcomes = await Hosts.ExecuteAsync(targets, again, cancellationToken).ConfigureAwait(false);
        await PublishPreparedAsync(targets, observed, outcomes, cancellationToken).ConfigureAwait(false);
        return outcomes;
    }

    /// <summary>
    /// A saved plan that made what a lease needs on a host (a WireGuard key) could only lease the host without it:
    /// the public key was not known when the plan was saved. Once the plan ran, the host is read again and its lease
    /// completed, so peers can reach it; the peers themselves add it at the next apply (their agents at once), since a
    /// saved plan runs exactly its operations. Said as a warning, naming the hosts.
    /// </summary>
    private async Task PublishPreparedAsync(IReadOnlyList<HostSpec> targets, IReadOnlyDictionary<string, Observation> before, IReadOnlyList<HostOutcome> outcomes, CancellationToken cancellationToken)
    {
        var succeeded = outcomes.Where(o => o.Result != HostResult.Failed).Select(o => o.Host).ToHashSet(StringComparer.Ordinal);
        var prepared = targets.Where(t => succeeded.Contains(t.Name) && before[t.Name].State is { } state
            && spec.Network.Backend.PrepareLease(spec, t, state).Any()).ToList();
        if (prepared.Count == 0) return;
        var reread = await Hosts.ObserveAsync(prepared, cancellationToken).ConfigureAwait(false);
        var states = Observation.States(reread);
        var leases = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        await Leases.AllocateAsync(prepared.Where(h => states.ContainsKey(h.Name)).ToList(), cancellationToken, states, leases).ConfigureAwait(false);
        log.Warning("{Hosts}: the plan made what their leases needed (a key); their leases now carry it, and their peers add them at the next apply (agents: at once)",
            string.Join(", ", prepared.Select(h => h.Name)));
    }

    /// <summary>
    /// Allocates every spec host's lease (even under a limit: peers must know each other's subnets), then
    /// converges the targets. Nothing is written before the preflight passes. A dry run is a plan. With
    /// <paramref name="approve"/>, the targets are planned first and exactly those plans run once it says
    /// yes (the leases are allocated before it is asked; declining leaves the hosts as they were).
    /// </summary>
    public async Task<IReadOnlyList<HostOutcome>> ApplyAsync(IReadOnlyList<HostSpec> targets, bool dryRun, CancellationToken cancellationToken, Approval? approve = null)
    {
        if (dryRun) return (await PlanAsync(targets, cancellationToken).ConfigureAwait(false)).Outcomes;
        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        var observed = await PreflightAsync(targets, snapshot, cancellationToken).ConfigureAwait(false);
        // What a lease needs from its host (a key made there) comes first; like the leases, before any approval:
        // neither changes the network.
        observed = await Hosts.PrepareLeasesAsync(targets, observed, cancellationToken).ConfigureAwait(false);
        await Leases.AllocateAsync(spec.Hosts, cancellationToken, Observation.States(observed), snapshot.Leases).ConfigureAwait(false);
        var leases = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        if (approve is null) return await Hosts.ConvergeAsync(targets, leases, execute: true, cancellationToken, observed).ConfigureAwait(false);
        var planned = await Hosts.ConvergeAsync(targets, leases, execute: false, cancellationToken, observed).ConfigureAwait(false);
        // Interrupted while planning: nothing is asked or run, and the recap says which hosts were stopped.
        if (cancellationToken.IsCancellationRequested) return planned;
        return await ApprovedAsync(targets, planned, approve, cancellationToken).ConfigureAwait(false) ?? planned;
    }

    /// <summary>
    /// New credentials for the targets (WireGuard: a new key pair each, made on the host), then an apply of every spec
    /// host, so the leases carry the new public keys and every peer converges to them. A dry run changes nothing: it
    /// shows each target's rotation before the plan from the current state (the new public keys are known after).
    /// </summary>
    public async Task<IReadOnlyList<HostOutcome>> RotateKeysAsync(IReadOnlyList<HostSpec> targets, bool dryRun, CancellationToken cancellationToken)
    {
        var backend = spec.Network.Backend;
        if (dryRun)
        {
            var planned = (await PlanAsync(targets, cancellationToken).ConfigureAwait(false)).Outcomes;
            return planned.Select(o => o is { Plan: { } plan, Observed: { } seen }
                ? o with { Plan = plan with { Operations = [.. backend.RotateKeys(spec, spec.FindHost(o.Host)!, seen), .. plan.Operations] } }
                : o).ToList();
        }
        await using (await LockAsync(cancellationToken).ConfigureAwait(false))
        {
            var observed = await Hosts.ObserveAsync(targets, cancellationToken).ConfigureAwait(false);
            var failed = await Hosts.ForEachHostAsync(targets, async (host, runner, ct) =>
            {
                if (observed[host.Name].State is not { } state) return observed[host.Name].Error;
                var ops = backend.RotateKeys(spec, host, state).ToList();
                if (ops.Count > 0) await PlanExecutor.ExecuteAsync(runner, new HostPlan(host.Name, ops), ct).ConfigureAwait(false);
                log.Information("{Host}: {Count} credential(s) replaced", host.Name, ops.Count);
                return null;
            }, (_, error) => error, cancellationToken).ConfigureAwait(false);
            if (failed.OfType<string>().Any()) log.Warning("some hosts kept their keys; the others' new keys are published by the apply that follows");
        }
        return await ApplyAsync(spec.Hosts, dryRun: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes what overlayctl made on the targets; with <paramref name="releaseLeases"/>, the leases of the
    /// hosts that were cleaned. <paramref name="force"/> deletes a docker bridge even with containers on it.
    /// With <paramref name="approve"/>, the plans are shown to it first and run only on its yes.
    /// </summary>
    public async Task<IReadOnlyList<HostOutcome>> DestroyAsync(IReadOnlyList<HostSpec> targets, bool releaseLeases, bool dryRun, CancellationToken cancellationToken, bool force = false, Approval? approve = null)
    {
        await using var held = dryRun ? null : await LockAsync(cancellationToken).ConfigureAwait(false);
        var leases = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        var outcomes = await Hosts.DestroyAsync(targets, leases, execute: !dryRun && approve is null, force, cancellationToken).ConfigureAwait(false);
        if (dryRun) return outcomes;
        if (approve is not null)
        {
            if (cancellationToken.IsCancellationRequested) return outcomes;
            if (await ApprovedAsync(targets, outcomes, approve, cancellationToken).ConfigureAwait(false) is not { } executed) return outcomes;
            outcomes = executed;
        }
        // A host stopped half-way keeps its lease, and after Ctrl-C no lease is released at all.
        if (!releaseLeases || cancellationToken.IsCancellationRequested) return outcomes;
        foreach (var outcome in outcomes.Where(o => o.Result is HostResult.Ok or HostResult.Changed && o.Lease is not null))
        {
            await store.ReleaseAsync(outcome.Lease!.Subnet, cancellationToken).ConfigureAwait(false);
            log.Information("{Host}: released lease {Subnet}", outcome.Host, outcome.Lease.Subnet);
        }
        return outcomes;
    }

    /// <summary>The planned outcomes carried out when <paramref name="approve"/> says yes; null when it says no.</summary>
    private async Task<IReadOnlyList<HostOutcome>?> ApprovedAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<HostOutcome> planned, Approval approve, CancellationToken cancellationToken)
    {
        if (!await approve(planned, cancellationToken).ConfigureAwait(false)) return null;
        return await Hosts.ExecuteAsync(targets, planned, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// verify: a container probe on each target and every pair between them; reads etcd, changes nothing overlayctl
    /// manages. It holds the cluster lock: its probes sit on the docker bridges, at addresses a second verify's would
    /// take, while an apply would see them as containers; and a probe it finds is then surely a killed run's.
    /// </summary>
    public async Task<VerifyOutcome> VerifyAsync(IReadOnlyList<HostSpec> targets, CancellationToken cancellationToken)
    {
        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var leases = await store.ListAsync(cancellationToken).ConfigureAwait(false);
        return await new Verifier(spec, Hosts, log, parallel).RunAsync(targets, leases, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every check apply makes before it writes: etcd's config against the spec's network, and each target's
    /// live state against the spec (see <see cref="Preflight"/>). All problems are reported at once, located
    /// in the spec. Returns what was observed, so the plan is made from the state that was checked.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, Observation>> PreflightAsync(IReadOnlyList<HostSpec> targets, LeaseSnapshot snapshot, CancellationToken cancellationToken)
    {
        var errors = Preflight.Cluster(spec, Leases.Config, snapshot).ToList();
        var observed = await Hosts.ObserveAsync(targets, cancellationToken).ConfigureAwait(false);
        foreach (var host in targets)
            if (observed[host.Name].State is { } state) errors.AddRange(Preflight.Host(spec, host, state));
        return errors.Count == 0 ? observed : throw new SpecException(errors);
    }

    /// <summary>The cluster lock for a run that changes something; log says who waits and for whom.</summary>
    private Task<IAsyncDisposable> LockAsync(CancellationToken cancellationToken)
    {
        log.Debug("taking the cluster lock as {Holder}", _locking.Holder);
        return store.LockAsync(_locking.Holder, _locking.Wait, cancellationToken);
    }
}

/// <summary>
/// Asked with the plans before anything on a host changes (a person at a terminal: "type yes"); true
/// carries them out, false leaves every host as it was.
/// </summary>
public delegate Task<bool> Approval(IReadOnlyList<HostOutcome> planned, CancellationToken cancellationToken);

/// <summary>Who takes the cluster lock for a run, and how long it waits for another holder.</summary>
public sealed record ClusterLocking(LockHolder Holder, TimeSpan Wait);

/// <summary>
/// A plan per target; <see cref="Provisional"/> names the targets whose lease is only predicted. What it
/// was made from (<see cref="Leases"/>, and each outcome's observed state) goes into a saved plan.
/// </summary>
public sealed record PlanResult(IReadOnlyList<HostOutcome> Outcomes, IReadOnlySet<string> Provisional, LeaseSnapshot Leases);
