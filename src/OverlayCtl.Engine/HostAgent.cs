using System.Threading.Channels;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Observe;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>How an agent paces itself.</summary>
/// <param name="Resync">The safety net: converge this often even when nothing was signalled.</param>
/// <param name="Debounce">How long a wake-up waits for more of the same burst, so ten joins cost one reconcile.</param>
/// <param name="MaxBackoff">The longest wait between attempts while etcd cannot be reached.</param>
public sealed record AgentOptions(TimeSpan Resync, TimeSpan Debounce, TimeSpan MaxBackoff)
{
    public static AgentOptions Default { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30));
}

/// <summary>
/// What an agent last did, for the state file <c>status</c> reads. <see cref="Updated"/> moves on every
/// convergence and every failed attempt, at least once per <see cref="ResyncSeconds"/>: a file much older
/// than that belongs to an agent that is not running.
/// </summary>
public sealed record AgentState(string Host, string? Subnet, DateTimeOffset? LastConverged, long Revision, int LastOperations, string? LastError)
{
    public DateTimeOffset Updated { get; init; }

    public double ResyncSeconds { get; init; }

    /// <summary>Set by an agent that stopped cleanly (SIGTERM, SIGINT).</summary>
    public bool Stopped { get; init; }

    /// <summary>Whether an agent that wrote this is still at work at <paramref name="now"/>: not stopped, and heard from within three resyncs (at least a minute, for backoff).</summary>
    public bool IsLive(DateTimeOffset now) => !Stopped && now - Updated <= TimeSpan.FromSeconds(Math.Max(60, 3 * ResyncSeconds));
}

/// <summary>
/// One host keeping itself converged, as flannel's daemon does, with the same engine as apply: it holds
/// its lease, converges on every lease change in etcd (watched from the revision it converged on; a burst
/// is one reconcile), on every signal from <paramref name="kernel"/> (its devices, routes or rules
/// changed), and every <see cref="AgentOptions.Resync"/>. Membership is etcd's: every lease holder is a
/// peer, whether a spec host, a host another agent joined, or a flannel node. When etcd cannot be reached
/// the network is left exactly as it is and the agent retries with backoff; it never tears anything down,
/// and local drift is still repaired, from the last leases it saw.
/// </summary>
public sealed class HostAgent(
    ClusterSpec spec, HostSpec host, ILeaseStore store, IHostRunner runner, ILogger log, AgentOptions? options = null,
    IAsyncEnumerable<string>? kernel = null, Action<AgentState>? report = null, Action? ready = null)
{
    private readonly AgentOptions _options = options ?? AgentOptions.Default;
    private readonly LeaseCoordinator _leases = new(spec, store, log);
    private readonly HostReconciler _reconciler = new(spec, log);
    private AgentState _state = new(host.Name, null, null, 0, 0, null);
    private (LeaseSnapshot Snapshot, Lease Own)? _last;
    private Action? _ready = ready;

    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _etcdChanged;
    private int _hostChanged;
    private string _lastSignal = "";
    private volatile KernelEcho? _echo;

    /// <summary>
    /// The last observation whose rules, Open vSwitch state and offload settings are still true: nothing the
    /// agent did since changed them, and any change by others would have rung the kernel monitor, which always
    /// leads to a full observation (as does every resync). Null when unknown.
    /// </summary>
    private ObservedHost? _settled;

    /// <summary>
    /// Something changed: in etcd (converge from a fresh snapshot) or only on this host (the last leases
    /// seen are still right: converge from them, without asking etcd). Both are kept, never one for the other.
    /// </summary>
    private void Ring(bool local, string what)
    {
        if (local)
        {
            _lastSignal = what;
            Interlocked.Exchange(ref _hostChanged, 1);
        }
        else
        {
            Interlocked.Exchange(ref _etcdChanged, 1);
        }
        _doorbell.Writer.TryWrite(true);
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, then returns, leaving the network as it is.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var kernelTask = kernel is null ? Task.CompletedTask : ForwardAsync(kernel, cancellationToken);
        var backoff = TimeSpan.FromSeconds(1);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await RunConnectedAsync(() => backoff = TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    // Anything but our own stop, a timeout inside a client included, is a failed stretch: back off and start afresh.
                    Report(_state with { LastError = e.Message });
                    log.Warning("{Host}: {Message}; the network stays as it is, trying again in {Backoff}", host.Name, e.Message, backoff);
                    await RideOutAsync(backoff, cancellationToken).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        log.Information("{Host}: agent stopping; the network stays as it is", host.Name);
        Report(_state with { Stopped = true });
        await kernelTask.ConfigureAwait(false);
    }

    /// <summary>
    /// One connected stretch: lease, converge, then watch etcd from the revision converged on and converge
    /// again on every wake-up. Ends by throwing when etcd or the watch fails; the caller starts afresh.
    /// </summary>
    private async Task RunConnectedAsync(Action connected, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _etcdChanged, 0);
        var revision = await ConvergeAsync("start", cancellationToken).ConfigureAwait(false);
        connected();
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = WatchAsync(revision, watching.Token);
        try
        {
            while (true)
            {
                var resync = await NextAsync(watch, cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.Debounce, cancellationToken).ConfigureAwait(false);
                _doorbell.Reader.TryRead(out _);
                var etcd = Interlocked.Exchange(ref _etcdChanged, 0) == 1;
                var local = Interlocked.Exchange(ref _hostChanged, 0) == 1;
                if (resync || etcd || _last is null) await ConvergeAsync(resync ? "resync" : etcd ? "etcd changed" : _lastSignal, cancellationToken, etcdOnly: etcd && !resync && !local).ConfigureAwait(false);
                else if (local) await ReconcileAsync(_last.Value.Snapshot, _last.Value.Own, _lastSignal, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await watching.CancelAsync().ConfigureAwait(false);
            try
            {
                await watch.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException || watching.IsCancellationRequested)
            {
                // The watch ends with the stretch; its own failure was already raised by NextAsync.
            }
        }
    }

    /// <summary>
    /// Waits out a backoff while etcd cannot be reached, still repairing local drift as the kernel signals
    /// it, from the last leases seen: a flushed chain or a lost route comes back even with etcd down.
    /// </summary>
    private async Task RideOutAsync(TimeSpan backoff, CancellationToken cancellationToken)
    {
        using var over = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        over.CancelAfter(backoff);
        try
        {
            while (await _doorbell.Reader.WaitToReadAsync(over.Token).ConfigureAwait(false))
            {
                await Task.Delay(_options.Debounce, over.Token).ConfigureAwait(false);
                _doorbell.Reader.TryRead(out _);
                if (Interlocked.Exchange(ref _hostChanged, 0) == 1 && _last is { } last)
                    await ReconcileAsync(last.Snapshot, last.Own, $"{_lastSignal}; etcd unreachable, from the last leases seen", cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The backoff is over: try etcd again.
        }
    }

    /// <summary>Waits for the doorbell or the resync timer (true); the watch failing is thrown.</summary>
    private async Task<bool> NextAsync(Task watch, CancellationToken cancellationToken)
    {
        var signal = _doorbell.Reader.WaitToReadAsync(cancellationToken).AsTask();
        var resync = Task.Delay(_options.Resync, cancellationToken);
        var first = await Task.WhenAny(signal, resync, watch).ConfigureAwait(false);
        if (first == watch)
        {
            await watch.ConfigureAwait(false);
            throw new InvalidOperationException("the etcd watch ended");
        }
        await first.ConfigureAwait(false);
        return first == resync;
    }

    /// <summary>
    /// Holds the lease (taken again if it was released or expired), then converges from a fresh snapshot; returns its revision.
    /// <paramref name="etcdOnly"/>: woken by etcd alone, so what peers do not change is not read again (<see cref="_settled"/>).
    /// </summary>
    private async Task<long> ConvergeAsync(string reason, CancellationToken cancellationToken, bool etcdOnly = false)
    {
        var snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        var own = LeaseCoordinator.HeldBy(spec, snapshot.Leases).GetValueOrDefault(host.Name);
        // A backend that needs the host's word for its lease (a public key) reads it, making what it needs first.
        var facts = BackendRegistry.LeaseNeedsHost(spec, host) ? await _reconciler.PrepareLeaseAsync(host, runner, cancellationToken).ConfigureAwait(false) : null;
        var request = _leases.RequestFor(host, facts, snapshot.Leases);
        var stale = own is not null && !own.Carries(request);
        if (own is null || stale || !await store.RenewAsync(own, cancellationToken).ConfigureAwait(false))
        {
            if (stale) log.Information("{Host}: lease {Subnet} says another backend or key than the spec and host; writing it again", host.Name, own!.Subnet);
            else if (own is not null) log.Warning("{Host}: lease {Subnet} expired; taking a lease again", host.Name, own.Subnet);
            own = (await _leases.AllocateAsync([host], cancellationToken, facts is null ? null : new Dictionary<string, ObservedHost> { [host.Name] = facts }, snapshot.Leases).ConfigureAwait(false))[host.Name];
            log.Information("{Host}: holds lease {Subnet}", host.Name, own.Subnet);
            snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        }
        _last = (snapshot, own);
        // The host as the lease preparation just read it (nothing has changed there since) is the one to converge from.
        await ReconcileAsync(snapshot, own, reason, cancellationToken, etcdOnly ? _settled : null, facts).ConfigureAwait(false);
        return snapshot.Revision;
    }

    /// <summary>Converges the host to <paramref name="own"/> among the leases of <paramref name="snapshot"/>; a host problem is logged and left for the next wake-up.</summary>
    private async Task ReconcileAsync(LeaseSnapshot snapshot, Lease own, string reason, CancellationToken cancellationToken, ObservedHost? settled = null, ObservedHost? read = null)
    {
        _settled = null;
        try
        {
            var observed = read ?? await _reconciler.ObserveAsync(host, runner, cancellationToken, settled).ConfigureAwait(false);
            var refused = Preflight.Host(spec, host, observed);
            if (refused.Count > 0) throw new SpecException(refused);
            var outcome = await _reconciler.ReconcileAsync(host, own, snapshot.Leases, runner, execute: false, cancellationToken, observed).ConfigureAwait(false);
            if (!outcome.Plan!.IsEmpty)
            {
                var echo = KernelEcho.Of(outcome.Plan);
                _echo = echo;
                try
                {
                    outcome = await _reconciler.ExecuteAsync(host, outcome, runner, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    echo.Finished(DateTimeOffset.UtcNow);
                }
            }
            if (outcome.Plan!.Operations.SelectMany(o => o.Steps).All(LeavesSettledAlone)) _settled = observed;
            var count = outcome.Plan.Operations.Count;
            if (count > 0) log.Information("{Host}: converged ({Reason}): {Count} operation(s), {Peers} peer(s)", host.Name, reason, count, snapshot.Leases.Count - 1);
            else log.Debug("{Host}: converged ({Reason}): nothing to do", host.Name, reason);
            Report(new AgentState(host.Name, own.Subnet.ToString(), DateTimeOffset.UtcNow, snapshot.Revision, count, null));
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not StoreUnavailableException && e is not StoreRefusedException)
        {
            // A host problem (a command failed, the spec does not fit the host) is retried on the next wake-up; etcd's are the caller's.
            log.Error("{Host}: could not converge ({Reason}): {Message}", host.Name, reason, e.Message);
            Report(_state with { Revision = snapshot.Revision, LastError = e.Message });
        }
    }

    /// <summary>A step that changes neither rules, Open vSwitch nor offload settings: a peer's neighbour, fdb entry or route, or a file.</summary>
    private static bool LeavesSettledAlone(Step step) =>
        step is BridgeStep or FileStep || step is IpStep { Arguments: ["neigh" or "route", ..] };

    private async Task WatchAsync(long revision, CancellationToken cancellationToken)
    {
        await Task.Yield();
        await foreach (var _ in store.ChangesAsync(revision, cancellationToken).ConfigureAwait(false))
            Ring(local: false, "etcd");
    }

    private async Task ForwardAsync(IAsyncEnumerable<string> signals, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var signal in signals.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (_echo?.Explains(signal, DateTimeOffset.UtcNow) == true) log.Verbose("{Host}: kernel: {Signal} (our own change)", host.Name, signal.Trim());
                else Ring(local: true, "kernel: " + signal.Trim());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Told once, after the first convergence or the first failed attempt: what a service manager waits for
    /// before it starts Docker (never for an etcd that is down).
    /// </summary>
    private void Ready() => Interlocked.Exchange(ref _ready, null)?.Invoke();

    private void Report(AgentState state)
    {
        Ready();
        _state = state with { Updated = DateTimeOffset.UtcNow, ResyncSeconds = _options.Resync.TotalSeconds };
        report?.Invoke(_state);
    }
}
