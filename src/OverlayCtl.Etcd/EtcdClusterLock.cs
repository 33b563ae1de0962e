namespace OverlayCtl.Etcd;

/// <summary>
/// A held cluster lock: its etcd lease is kept alive in the background while the run works, and revoked
/// (deleting the lock key) when the run ends.
/// </summary>
internal sealed class EtcdClusterLock : IAsyncDisposable
{
    private readonly IEtcdClient _etcd;
    private readonly long _lease;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _keepAlive;

    public EtcdClusterLock(IEtcdClient etcd, long lease, TimeSpan ttl)
    {
        _etcd = etcd;
        _lease = lease;
        _keepAlive = KeepAliveAsync(ttl / 3, _stop.Token);
    }

    private async Task KeepAliveAsync(TimeSpan every, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(every, cancellationToken).ConfigureAwait(false);
                await _etcd.LeaseKeepAliveAsync(_lease, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is OverlayCtl.Core.Leases.StoreUnavailableException or OverlayCtl.Core.Leases.StoreRefusedException)
            {
                // etcd unreachable for a moment: the next refresh may reach it; the lease outlives two misses.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _keepAlive.ConfigureAwait(false);
        _stop.Dispose();
        try
        {
            await _etcd.LeaseRevokeAsync(_lease, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OverlayCtl.Core.Leases.StoreUnavailableException or OverlayCtl.Core.Leases.StoreRefusedException)
        {
            // etcd went away as the run ended: the lock expires with its lease, and the run's own result stands.
        }
    }
}
