using OverlayCtl.Core;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Engine.Tests.Support;

/// <summary>
/// A hand-written lease store: the allocation rules of the etcd one (a held address keeps its lease,
/// pins honoured, lowest free subnet) over a list, counting every write so a test can say "nothing written".
/// </summary>
internal sealed class InMemoryLeaseStore : ILeaseStore
{
    private readonly List<Lease> _leases = [];
    private readonly List<UnreadableLease> _unreadable = [];
    private NetworkConfig? _config;

    public int Writes { get; private set; }

    public void AddUnreadable(UnreadableLease entry) => _unreadable.Add(entry);

    /// <summary>When set, every read fails as an etcd that cannot be reached does.</summary>
    public bool Down { get; set; }

    public Task<LeaseSnapshot> SnapshotAsync(CancellationToken cancellationToken) => Down
        ? throw new StoreUnavailableException("no etcd endpoint answered (test: down)")
        : Task.FromResult(new LeaseSnapshot(_config, null, _leases.OrderBy(l => l.Subnet).ToList(), [.. _unreadable], Writes));

    public Task<bool> RenewAsync(Lease lease, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>The write count is the revision; a change shows within 10 ms.</summary>
    public async IAsyncEnumerable<long> ChangesAsync(long afterRevision, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var seen = afterRevision; ;)
        {
            await Task.Delay(10, cancellationToken);
            if (Down) throw new StoreUnavailableException("no etcd endpoint answered (test: down)");
            if (Writes > seen) yield return seen = Writes;
        }
    }

    public Task EnsureConfigAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        if (_config != config) Writes++;
        _config = config;
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<Lease>> ListAsync(CancellationToken cancellationToken) => (await SnapshotAsync(cancellationToken)).Leases;

    public Task<IReadOnlyList<Lease>> AcquireAsync(NetworkConfig config, IReadOnlyList<LeaseRequest> requests, CancellationToken cancellationToken)
    {
        var result = new List<Lease>();
        foreach (var request in requests)
        {
            var lease = _leases.FirstOrDefault(l => l.PublicIp == request.PublicIp);
            if (lease is null)
            {
                var taken = _leases.Select(l => l.Subnet).Concat(_unreadable.Where(u => u.Subnet is not null).Select(u => u.Subnet!.Value));
                lease = new Lease(request.PinnedSubnet ?? Ipam.FirstFree(config, taken), request.PublicIp, request.BackendType, request.Vni, request.VtepMac, PublicKey: request.PublicKey, Port: request.Port);
                _leases.Add(lease);
                Writes++;
            }
            else if (!lease.Carries(request))
            {
                // As etcd's store: a held lease keeps its subnet and takes the request's backend data.
                var updated = lease.WithData(request);
                _leases[_leases.IndexOf(lease)] = updated;
                lease = updated;
                Writes++;
            }
            result.Add(lease);
        }
        return Task.FromResult<IReadOnlyList<Lease>>(result);
    }

    public Task<bool> ReleaseAsync(Ipv4Cidr subnet, CancellationToken cancellationToken)
    {
        Writes++;
        return Task.FromResult(_leases.RemoveAll(l => l.Subnet == subnet) > 0);
    }

    /// <summary>Who holds the lock now, as the etcd store would describe them; null when free.</summary>
    public LockHolder? Holder { get; private set; }

    public Task<IAsyncDisposable> LockAsync(LockHolder holder, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (Holder is not null) throw new ClusterLockedException($"the cluster is locked by {Holder}");
        Holder = holder;
        return Task.FromResult<IAsyncDisposable>(new Release(this));
    }

    public Task<string?> UnlockAsync(CancellationToken cancellationToken)
    {
        var was = Holder?.ToString();
        Holder = null;
        return Task.FromResult(was);
    }

    private sealed class Release(InMemoryLeaseStore store) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            store.Holder = null;
            return ValueTask.CompletedTask;
        }
    }

    public Task<bool> ReleaseKeyAsync(string key, CancellationToken cancellationToken)
    {
        Writes++;
        return Task.FromResult(_unreadable.RemoveAll(u => u.Key == key) > 0);
    }
}
