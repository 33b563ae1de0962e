namespace OverlayCtl.Etcd;

/// <summary>
/// The slice of etcd v3 overlayctl needs, typed. Behind an interface so the transport (today the
/// HTTP/JSON gateway) can be swapped without touching the lease logic.
/// </summary>
public interface IEtcdClient
{
    /// <summary>HTTP round trips made so far: the benchmark's "round trips per lease".</summary>
    long RoundTrips { get; }

    Task<RangeResult> RangeAsync(string key, bool prefix, CancellationToken cancellationToken);

    Task PutAsync(string key, string value, long lease, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="success"/> if every comparison holds; returns whether it did.</summary>
    Task<bool> TxnAsync(IReadOnlyList<TxnCompare> compares, IReadOnlyList<TxnOp> success, CancellationToken cancellationToken);

    Task<long> DeleteAsync(string key, bool prefix, CancellationToken cancellationToken);

    Task<long> LeaseGrantAsync(TimeSpan ttl, CancellationToken cancellationToken);

    Task LeaseRevokeAsync(long id, CancellationToken cancellationToken);
}

/// <summary>One key as etcd stores it.</summary>
public sealed record KeyValue(string Key, string Value, long CreateRevision, long ModRevision, long Version, long Lease);

/// <summary>The keys found and the store revision they were read at.</summary>
public sealed record RangeResult(IReadOnlyList<KeyValue> Kvs, long Revision);

/// <summary>A transaction guard.</summary>
public abstract record TxnCompare(string Key)
{
    /// <summary>The key does not exist (version 0): create-if-absent.</summary>
    public sealed record Absent(string Key) : TxnCompare(Key);

    /// <summary>The key was last modified at this revision: update-if-unchanged.</summary>
    public sealed record ModRevisionIs(string Key, long Revision) : TxnCompare(Key);
}

/// <summary>A transaction operation.</summary>
public abstract record TxnOp(string Key)
{
    public sealed record Put(string Key, string Value, long Lease = 0) : TxnOp(Key);

    public sealed record Delete(string Key) : TxnOp(Key);
}
