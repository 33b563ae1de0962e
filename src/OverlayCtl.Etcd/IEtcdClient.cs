namespace OverlayCtl.Etcd;

/// <summary>
/// The slice of etcd v3 overlayctl needs, typed. Behind an interface so the lease logic is tested
/// without caring how requests travel (gRPC through dotnet-etcd in production).
/// </summary>
public interface IEtcdClient
{
    /// <summary>Requests sent so far (unary calls and stream openings): the benchmark's "round trips per lease".</summary>
    long RoundTrips { get; }

    Task<RangeResult> RangeAsync(string key, bool prefix, CancellationToken cancellationToken);

    /// <summary>Several reads in one request, all at one revision (a read-only transaction); the results in order.</summary>
    Task<IReadOnlyList<RangeResult>> RangesAsync(IReadOnlyList<(string Key, bool Prefix)> reads, CancellationToken cancellationToken);

    Task PutAsync(string key, string value, long lease, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="success"/> if every comparison holds; returns whether it did.</summary>
    Task<bool> TxnAsync(IReadOnlyList<TxnCompare> compares, IReadOnlyList<TxnOp> success, CancellationToken cancellationToken);

    Task<long> DeleteAsync(string key, bool prefix, CancellationToken cancellationToken);

    /// <summary>Grants an etcd lease; keys put with its id die when it expires or is revoked.</summary>
    Task<long> LeaseGrantAsync(TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Refreshes a lease once; returns its TTL from now, or <see cref="TimeSpan.Zero"/> when it no longer exists.</summary>
    Task<TimeSpan> LeaseKeepAliveAsync(long id, CancellationToken cancellationToken);

    Task LeaseRevokeAsync(long id, CancellationToken cancellationToken);

    /// <summary>
    /// Every change under <paramref name="prefix"/> after <paramref name="fromRevision"/> (inclusive), in
    /// revision order, until cancelled. A lost connection resumes on the next endpoint from the last
    /// revision seen, so no event is lost or repeated. Throws <see cref="WatchCompactedException"/> when
    /// etcd has compacted past the revision asked for: the caller must read a fresh snapshot and watch
    /// from its revision + 1.
    /// </summary>
    IAsyncEnumerable<WatchBatch> WatchAsync(string prefix, long fromRevision, CancellationToken cancellationToken);
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

/// <summary>What happened to one key.</summary>
public enum WatchEventKind
{
    Put,
    Delete,
}

/// <summary>One change; for a delete, <see cref="KeyValue.Value"/> is empty.</summary>
public sealed record WatchEvent(WatchEventKind Kind, KeyValue Kv);

/// <summary>The events etcd delivered together; <see cref="Revision"/> is the store revision they bring the watcher to.</summary>
public sealed record WatchBatch(long Revision, IReadOnlyList<WatchEvent> Events);

/// <summary>The revision a watch asked for is gone: etcd compacted up to <see cref="CompactRevision"/>.</summary>
public sealed class WatchCompactedException(long requested, long compactRevision)
    : Exception($"etcd compacted its history up to revision {compactRevision}; a watch from revision {requested} cannot resume, read a fresh snapshot")
{
    public long RequestedRevision { get; } = requested;

    public long CompactRevision { get; } = compactRevision;
}
