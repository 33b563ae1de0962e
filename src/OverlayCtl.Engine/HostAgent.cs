using System.Threading.Channels;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
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
    IAsyncEnumerable<string>? kernel = null, Action<AgentState>? report = null)
{
    private readonly AgentOptions _options = options ?? AgentOptions.Default;
    private readonly LeaseCoordinator _leases = new(spec, store, log);
    private readonly HostReconciler _reconciler = new(spec, log);
    private AgentState _state = new(host.Name, null, null, 0, 0, null);
    private (LeaseSnapshot Snapshot, Lease Own)? _last;

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, then returns, leaving the network as it is.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var wake = Channel.CreateBounded<string>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        var kernelTask = kernel is null ? Task.CompletedTask : ForwardAsync(kernel, wake.Writer, cancellationToken);
        var backoff = TimeSpan.FromSeconds(1);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await RunConnectedAsync(wake, () => backoff = TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
                {
                    Report(_state with { LastError = e.Message });
                    log.Warning("{Host}: {Message}; the network stays as it is, trying again in {Backoff}", host.Name, e.Message, backoff);
                    await RideOutAsync(wake.Reader, backoff, cancellationToken).ConfigureAwait(false);
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
    private async Task RunConnectedAsync(Channel<string> wake, Action connected, CancellationToken cancellationToken)
    {
        var revision = await ConvergeAsync("start", cancellationToken).ConfigureAwait(false);
        connected();
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = WatchAsync(revision, wake.Writer, watching.Token);
        try
        {
            while (true)
            {
                var reason = await NextAsync(wake.Reader, watch, cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.Debounce, cancellationToken).ConfigureAwait(false);
                wake.Reader.TryRead(out _);
                await ConvergeAsync(reason, cancellationToken).ConfigureAwait(false);
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
    private async Task RideOutAsync(ChannelReader<string> wake, TimeSpan backoff, CancellationToken cancellationToken)
    {
        using var over = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        over.CancelAfter(backoff);
        try
        {
            while (await wake.WaitToReadAsync(over.Token).ConfigureAwait(false))
            {
                await Task.Delay(_options.Debounce, over.Token).ConfigureAwait(false);
                wake.TryRead(out var reason);
                if (_last is { } last) await ReconcileAsync(last.Snapshot, last.Own, $"{reason}; etcd unreachable, from the last leases seen", cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The backoff is over: try etcd again.
        }
    }

    /// <summary>The next reason to converge: a signal, the resync timer, or the watch failing (thrown).</summary>
    private async Task<string> NextAsync(ChannelReader<string> wake, Task watch, CancellationToken cancellationToken)
    {
        var signal = wake.WaitToReadAsync(cancellationToken).AsTask();
        var resync = Task.Delay(_options.Resync, cancellationToken);
        var first = await Task.WhenAny(signal, resync, watch).ConfigureAwait(false);
        if (first == watch)
        {
            await watch.ConfigureAwait(false);
            throw new InvalidOperationException("the etcd watch ended");
        }
        await first.ConfigureAwait(false);
        return first == resync ? "resync" : wake.TryRead(out var reason) ? reason : "signal";
    }

    /// <summary>Holds the lease (taken again if it was released or expired), then converges from a fresh snapshot; returns its revision.</summary>
    private async Task<long> ConvergeAsync(string reason, CancellationToken cancellationToken)
    {
        var snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (LeaseCoordinator.HeldBy(spec, snapshot.Leases).GetValueOrDefault(host.Name) is null)
        {
            var lease = (await _leases.AllocateAsync([host], cancellationToken).ConfigureAwait(false))[host.Name];
            log.Information("{Host}: holds lease {Subnet}", host.Name, lease.Subnet);
            snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        }
        var own = LeaseCoordinator.HeldBy(spec, snapshot.Leases)[host.Name];
        if (!await store.RenewAsync(own, cancellationToken).ConfigureAwait(false))
        {
            log.Warning("{Host}: lease {Subnet} expired; taking a lease again", host.Name, own.Subnet);
            own = (await _leases.AllocateAsync([host], cancellationToken).ConfigureAwait(false))[host.Name];
            snapshot = await store.SnapshotAsync(cancellationToken).ConfigureAwait(false);
        }
        _last = (snapshot, own);
        await ReconcileAsync(snapshot, own, reason, cancellationToken).ConfigureAwait(false);
        return snapshot.Revision;
    }

    /// <summary>Converges the host to <paramref name="own"/> among the leases of <paramref name="snapshot"/>; a host problem is logged and left for the next wake-up.</summary>
    private async Task ReconcileAsync(LeaseSnapshot snapshot, Lease own, string reason, CancellationToken cancellationToken)
    {
        try
        {
            var observed = await _reconciler.ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
            var refused = Preflight.Host(spec, host, observed);
            if (refused.Count > 0) throw new SpecException(refused);
            var outcome = await _reconciler.ReconcileAsync(host, own, snapshot.Leases, runner, execute: true, cancellationToken, observed).ConfigureAwait(false);
            var count = outcome.Plan?.Operations.Count ?? 0;
            if (count > 0) log.Information("{Host}: converged ({Reason}): {Count} operation(s), {Peers} peer(s)", host.Name, reason, count, snapshot.Leases.Count - 1);
            else log.Debug("{Host}: converged ({Reason}): nothing to do", host.Name, reason);
            Report(new AgentState(host.Name, own.Subnet.ToString(), DateTimeOffset.UtcNow, snapshot.Revision, count, null));
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not StoreUnavailableException && e is not StoreRefusedException)
        {
            // A host problem (a command failed, the spec does not fit the host) is retried on the next wake-up; etcd's are the caller's.
            log.Error("{Host}: could not converge ({Reason}): {Message}", host.Name, reason, e.Message);
            Report(_state with { Revision = snapshot.Revision, LastError = e.Message });
        }
    }

    private async Task WatchAsync(long revision, ChannelWriter<string> wake, CancellationToken cancellationToken)
    {
        await Task.Yield();
        await foreach (var changed in store.ChangesAsync(revision, cancellationToken).ConfigureAwait(false))
            wake.TryWrite($"etcd revision {changed}");
    }

    private static async Task ForwardAsync(IAsyncEnumerable<string> signals, ChannelWriter<string> wake, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var signal in signals.WithCancellation(cancellationToken).ConfigureAwait(false))
                wake.TryWrite(signal);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Report(AgentState state)
    {
        _state = state with { Updated = DateTimeOffset.UtcNow, ResyncSeconds = _options.Resync.TotalSeconds };
        report?.Invoke(_state);
    }
}
