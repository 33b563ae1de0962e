using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Execute;
using OverlayCtl.Hosts.Observe;
using Serilog;

namespace OverlayCtl.Cli.Engine;

/// <summary>
/// Drives a cluster: leases from the store, then every host observed, planned and (optionally)
/// converged in parallel. One host failing never stops the others; each ends as a <see cref="HostOutcome"/>.
/// </summary>
internal sealed class ClusterDriver(ClusterSpec spec, ILeaseStore store, Func<HostSpec, IHostRunner> runners, ILogger log, int parallel, Output.Progress? progress = null)
{
    public NetworkConfig Config { get; } = ConfigOf(spec);

    public static NetworkConfig ConfigOf(ClusterSpec spec) => BackendRegistry.ConfigOf(spec);

    public static LeaseRequest RequestFor(ClusterSpec spec, HostSpec host) => BackendRegistry.RequestFor(spec, host);

    /// <summary>Writes the config key and makes sure every host holds a lease; returns them by host name.</summary>
    public async Task<IReadOnlyDictionary<string, Lease>> AllocateAsync(IReadOnlyList<HostSpec> hosts, CancellationToken cancellationToken)
    {
        await store.EnsureConfigAsync(Config, cancellationToken).ConfigureAwait(false);
        var leases = await store.AcquireAsync(Config, hosts.Select(h => RequestFor(spec, h)).ToList(), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < hosts.Count; i++) log.Debug("{Host}: lease {Subnet}", hosts[i].Name, leases[i].Subnet);
        return hosts.Zip(leases).ToDictionary(p => p.First.Name, p => p.Second);
    }

    /// <summary>The leases each spec host holds now, by name; hosts without one are absent.</summary>
    public static IReadOnlyDictionary<string, Lease> HeldBy(ClusterSpec spec, IReadOnlyList<Lease> all)
    {
        var byAddress = all.GroupBy(l => l.PublicIp).ToDictionary(g => g.Key, g => g.First());
        var held = new Dictionary<string, Lease>();
        foreach (var host in spec.Hosts)
            if (byAddress.TryGetValue(host.Address, out var lease)) held[host.Name] = lease;
        return held;
    }

    /// <summary>
    /// What apply would allocate, without writing: held leases as they are, the others provisional
    /// (pinned, else the first free subnet), so <c>plan</c> shows real commands and changes nothing.
    /// </summary>
    public IReadOnlyList<Lease> Predict(LeaseSnapshot snapshot)
    {
        // A held lease keeps its subnet but takes the spec's backend data, as apply's acquire rewrites it.
        var hosts = spec.Hosts.GroupBy(h => h.Address).ToDictionary(g => g.Key, g => g.First());
        var unreadable = snapshot.Unreadable.Where(u => u.Subnet is not null).Select(u => u.Subnet!.Value).ToList();
        var all = snapshot.Leases.Select(l => hosts.TryGetValue(l.PublicIp, out var h) && RequestFor(spec, h) is var r
            ? l with { BackendType = r.BackendType, Vni = r.Vni, VtepMac = r.VtepMac }
            : l).ToList();
        var held = HeldBy(spec, all);
        foreach (var host in spec.Hosts.Where(h => !held.ContainsKey(h.Name)))
        {
            var request = RequestFor(spec, host);
            var subnet = host.Subnet ?? Ipam.FirstFree(Config, all.Select(l => l.Subnet).Concat(unreadable));
            all.Add(new Lease(subnet, host.Address, request.BackendType, request.Vni, request.VtepMac));
        }
        return all;
    }

    /// <summary>Observes and plans each target (and executes the plan when <paramref name="execute"/>).</summary>
    public async Task<IReadOnlyList<HostOutcome>> ConvergeAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, bool execute, CancellationToken cancellationToken)
    {
        var inspected = await InspectAsync(targets, all, async (input, runner, ct) =>
        {
            var plan = Planner.PlanApply(input);
            return await FinishAsync(input.Host, input.Lease, plan, runner, execute, ct).ConfigureAwait(false) with { Observed = input.Observed };
        }, cancellationToken).ConfigureAwait(false);
        return inspected.Select(i => i.Value ?? HostOutcome.Failed(i.Host, i.Lease, i.Error ?? "failed")).ToList();
    }

    /// <summary>
    /// Observes each target that holds a lease and hands its plan input (spec, lease, peers, live state)
    /// to <paramref name="work"/>, in parallel. A host that fails ends with its error, never stopping the rest.
    /// </summary>
    public Task<IReadOnlyList<Inspection<T>>> InspectAsync<T>(
        IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, Func<PlanInput, IHostRunner, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var held = HeldBy(spec, all);
        return ForEachHostAsync(targets, async (host, runner, ct) =>
        {
            if (!held.TryGetValue(host.Name, out var lease))
                return new Inspection<T>(host.Name, null, default, "holds no lease (run overlayctl apply or leases allocate)");
            var observed = await ObserveAsync(host, runner, ct).ConfigureAwait(false);
            var peers = all
                .Where(l => l.Subnet != lease.Subnet)
                .Select(l => new Peer(l, spec.Hosts.FirstOrDefault(h => h.Address == l.PublicIp)?.Name))
                .ToList();
            return new Inspection<T>(host.Name, lease, await work(new PlanInput(spec, host, lease, peers, observed), runner, ct).ConfigureAwait(false), null);
        }, (host, error) => new Inspection<T>(host.Name, held.GetValueOrDefault(host.Name), default, error), cancellationToken);
    }

    /// <summary>Plans (and executes) the removal of everything overlayctl made on each target.</summary>
    public Task<IReadOnlyList<HostOutcome>> DestroyAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> all, bool execute, CancellationToken cancellationToken)
    {
        var held = HeldBy(spec, all);
        return ForEachHostAsync(targets, async (host, runner, ct) =>
        {
            held.TryGetValue(host.Name, out var lease);
            var observed = await ObserveAsync(host, runner, ct).ConfigureAwait(false);
            var plan = Planner.PlanDestroy(spec, host, lease, observed);
            return await FinishAsync(host, lease, plan, runner, execute, ct).ConfigureAwait(false);
        }, (host, error) => HostOutcome.Failed(host.Name, held.GetValueOrDefault(host.Name), error), cancellationToken);
    }

    private Task<ObservedHost> ObserveAsync(HostSpec host, IHostRunner runner, CancellationToken cancellationToken)
    {
        var files = new[] { spec.Docker.DaemonConfigFor(host), spec.Docker.SubnetEnvFor(host) }.OfType<string>().ToList();
        return HostObserver.ObserveAsync(runner, new ObserveRequest(files, BackendRegistry.ReadsFor(spec, host)), cancellationToken);
    }

    private async Task<HostOutcome> FinishAsync(HostSpec host, Lease? lease, HostPlan plan, IHostRunner runner, bool execute, CancellationToken cancellationToken)
    {
        if (!execute || plan.IsEmpty)
            return new HostOutcome(host.Name, lease, plan, plan.IsEmpty ? HostResult.Ok : HostResult.Changed, null);
        log.Information("{Host}: applying {Count} operation(s)", host.Name, plan.Operations.Count);
        await PlanExecutor.ExecuteAsync(runner, plan, cancellationToken).ConfigureAwait(false);
        return new HostOutcome(host.Name, lease, plan, HostResult.Changed, null);
    }

    private async Task<IReadOnlyList<T>> ForEachHostAsync<T>(
        IReadOnlyList<HostSpec> targets,
        Func<HostSpec, IHostRunner, CancellationToken, Task<T>> work,
        Func<HostSpec, string, T> failed,
        CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(Math.Max(1, parallel));
        progress?.Start(targets.Count);
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
                progress?.HostDone(host.Name, ok);
            }
        });
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}

/// <summary>One host's result of <see cref="ClusterDriver.InspectAsync{T}"/>: a value, or the error that stopped it.</summary>
internal sealed record Inspection<T>(string Host, Lease? Lease, T? Value, string? Error);
