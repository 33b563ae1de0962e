using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// Where leases live (etcd in production). Allocation must be atomic across processes: two callers
/// can never both hold one subnet, and a holder asking again gets the same subnet back.
/// </summary>
public interface ILeaseStore
{
    /// <summary>The config, every lease and every key that is not a usable lease, at one revision.</summary>
    Task<LeaseSnapshot> SnapshotAsync(CancellationToken cancellationToken);

    /// <summary>Writes the config; refuses (<see cref="LeaseException"/>) to change Network or SubnetLen under existing leases.</summary>
    Task EnsureConfigAsync(NetworkConfig config, CancellationToken cancellationToken);

    Task<IReadOnlyList<Lease>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// For each request, in order: the lease its address already holds (its data updated if needed),
    /// else a newly allocated one. Conflicts with concurrent allocators are retried, never surfaced.
    /// </summary>
    Task<IReadOnlyList<Lease>> AcquireAsync(NetworkConfig config, IReadOnlyList<LeaseRequest> requests, CancellationToken cancellationToken);

    /// <summary>Deletes the key holding <paramref name="subnet"/>, readable or not; false when there was none.</summary>
    Task<bool> ReleaseAsync(Ipv4Cidr subnet, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the cluster lock for a run that changes hosts or leases, waiting up to <paramref name="wait"/>
    /// for another holder to finish; throws <see cref="ClusterLockedException"/> naming the holder. The lock
    /// dies with a crashed process; disposing releases it.
    /// </summary>
    Task<IAsyncDisposable> LockAsync(LockHolder holder, TimeSpan wait, CancellationToken cancellationToken);

    /// <summary>Clears the lock whoever holds it; returns who did, or null when it was free.</summary>
    Task<string?> UnlockAsync(CancellationToken cancellationToken);

    /// <summary>Keeps a lease with a TTL alive once (a reservation needs nothing); false when it has expired already.</summary>
    Task<bool> RenewAsync(Lease lease, CancellationToken cancellationToken);

    /// <summary>
    /// The revisions at which the config or a lease changed after <paramref name="afterRevision"/> (a
    /// snapshot's), in order, until cancelled: what an agent wakes up for. Level-triggered callers read a
    /// fresh snapshot on each, so several may be taken as one. Throws when the history is gone (compacted)
    /// or the store cannot be reached; the caller starts again from a fresh snapshot.
    /// </summary>
    IAsyncEnumerable<long> ChangesAsync(long afterRevision, CancellationToken cancellationToken);

    /// <summary>Deletes one key under the subnets prefix (an <see cref="UnreadableLease"/> that names no subnet); false when it was gone.</summary>
    Task<bool> ReleaseKeyAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A lease operation that cannot succeed as asked (exhausted range, pin held by another host, config change refused).</summary>
public sealed class LeaseException(string message) : Exception(message);

/// <summary>The lease store could not be reached at all: every endpoint down, timed out, or not an etcd.</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// etcd answered but refused: authentication, permission, TLS, or an alarm such as NOSPACE. The
/// message names the cause and the fix; retrying another endpoint would be refused the same way.
/// </summary>
public sealed class StoreRefusedException(string message, Exception? inner = null) : Exception(message, inner);
