using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Etcd;

/// <summary>
/// Leases in etcd, in flannel's layout. Every write is a transaction guarded by the state it was
/// planned from, so two allocators can never both win one subnet, and one host address never holds
/// two: beside each lease overlayctl keeps a claim key per host address
/// (<c>&lt;prefix&gt;/overlayctl/hosts/&lt;ip&gt;</c>, ignored by flannel) written in the same transaction.
/// A lost race is re-read and retried, never surfaced (flanneld exits instead).
/// </summary>
public sealed class EtcdLeaseStore(IEtcdClient etcd, string prefix, TimeSpan? ttl = null, Random? random = null) : ILeaseStore
{
    private const int MaxAttempts = 32;
    private readonly Random _random = random ?? Random.Shared;

    public string Prefix { get; } = prefix;

    public string ClaimKey(Ipv4Address address) => $"{Prefix}/overlayctl/hosts/{address}";

    public async Task<LeaseSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var snapshot = await ReadAsync(cancellationToken, withClaims: false).ConfigureAwait(false);
        var config = snapshot.Config is null ? null : FlannelFormat.ParseConfig(snapshot.Config.Value);
        var problem = snapshot.Config is not null && config is null
            ? $"{FlannelFormat.ConfigKey(Prefix)} holds something that is not a flannel network config: {Truncate(snapshot.Config.Value)}"
            : null;
        return new LeaseSnapshot(config, problem, snapshot.Leases.Select(l => l.Lease).OrderBy(l => l.Subnet).ToList(), snapshot.Unreadable, snapshot.Revision);
    }

    public async Task EnsureConfigAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        var key = FlannelFormat.ConfigKey(Prefix);
        var wanted = FlannelFormat.SerializeConfig(config);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var snapshot = await ReadAsync(cancellationToken, withClaims: false).ConfigureAwait(false);
            if (snapshot.Config is { } current)
            {
                if (current.Value == wanted) return;
                var existing = FlannelFormat.ParseConfig(current.Value);
                var leases = snapshot.Leases.Count;
                if (existing is not null && leases > 0 && existing.Strands(config))
                    throw new LeaseException(
                        $"{key} says Network {existing.Network} with /{existing.SubnetLen} subnets and {leases} lease(s) exist; " +
                        $"the spec asks for {config.Network} with /{config.SubnetLen}. Changing it would strand those hosts: " +
                        "keep the spec's network as it is, or destroy with --release-leases first");
                var leases6 = snapshot.Leases.Count(l => l.Lease.Subnet6 is not null);
                if (existing?.Ipv6 is { } now6 && leases6 > 0 && existing.Strands6(config))
                    throw new LeaseException(
                        $"{key} says IPv6Network {now6.Network} with /{now6.SubnetLen} subnets and {leases6} dual-stack lease(s) exist; " +
                        $"the spec asks for {config.Ipv6!.Network} with /{config.Ipv6.SubnetLen}. Changing it would strand those hosts' IPv6 subnets: " +
                        "keep network.ipv6 as it is, remove network.ipv6 and apply first (the IPv6 subnets are given back), or destroy with --release-leases");
                if (await etcd.TxnAsync([new TxnCompare.ModRevisionIs(key, current.ModRevision)], [new TxnOp.Put(key, wanted)], cancellationToken).ConfigureAwait(false))
                    return;
            }
            else if (await etcd.TxnAsync([new TxnCompare.Absent(key)], [new TxnOp.Put(key, wanted)], cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
        throw new LeaseException($"{key} kept changing under us; try again");
    }

    public async Task<IReadOnlyList<Lease>> ListAsync(CancellationToken cancellationToken) =>
        (await SnapshotAsync(cancellationToken).ConfigureAwait(false)).Leases;

    public async Task<IReadOnlyList<Lease>> AcquireAsync(NetworkConfig config, IReadOnlyList<LeaseRequest> requests, CancellationToken cancellationToken)
    {
        var results = new List<Lease>(requests.Count);
        Snapshot? snapshot = null;
        foreach (var request in requests)
        {
            for (var attempt = 0; ; attempt++)
            {
                if (attempt == MaxAttempts)
                    throw new LeaseException($"could not allocate a lease for {request.HostName} ({request.PublicIp}) after {MaxAttempts} conflicting attempts; etcd is very busy, try again");
                if (attempt > 0) await Task.Delay(_random.Next(5, 20 * Math.Min(attempt, 10)), cancellationToken).ConfigureAwait(false);
                snapshot ??= await ReadAsync(cancellationToken).ConfigureAwait(false);
                var (lease, committed) = await TryAcquireAsync(config, request, snapshot, spread: attempt > 0, cancellationToken).ConfigureAwait(false);
                if (lease is not null)
                {
                    results.Add(lease);
                    snapshot = committed;
                    break;
                }
                snapshot = null;
            }
        }
        return results;
    }

    public async Task<bool> ReleaseAsync(Ipv4Cidr subnet, CancellationToken cancellationToken)
    {
        var snapshot = await ReadAsync(cancellationToken).ConfigureAwait(false);
        var key = snapshot.Leases.FirstOrDefault(l => l.Lease.Subnet == subnet)?.Key ?? snapshot.Unreadable.FirstOrDefault(u => u.Subnet == subnet)?.Key;
        return key is not null && await DeleteLeaseKeyAsync(snapshot, key, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> ReleaseKeyAsync(string key, CancellationToken cancellationToken)
    {
        if (!key.StartsWith(FlannelFormat.SubnetsPrefix(Prefix), StringComparison.Ordinal))
            throw new LeaseException($"{key} is not under {FlannelFormat.SubnetsPrefix(Prefix)}: overlayctl only deletes lease keys");
        return await DeleteLeaseKeyAsync(await ReadAsync(cancellationToken).ConfigureAwait(false), key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The cluster lock's key: ignored by flannel, like the claims.</summary>
    public string LockKey => Prefix + "/overlayctl/lock";

    public async Task<IAsyncDisposable> LockAsync(LockHolder holder, TimeSpan wait, CancellationToken cancellationToken)
    {
        var until = DateTimeOffset.UtcNow + wait;
        while (true)
        {
            // The key lives on an etcd lease, so a run that dies (kill -9, a lost machine) frees it within the TTL.
            var lease = await etcd.LeaseGrantAsync(LockTtl, cancellationToken).ConfigureAwait(false);
            if (await etcd.TxnAsync([new TxnCompare.Absent(LockKey)], [new TxnOp.Put(LockKey, holder.ToJson(), lease)], cancellationToken).ConfigureAwait(false))
                return new EtcdClusterLock(etcd, lease, LockTtl);
            await etcd.LeaseRevokeAsync(lease, cancellationToken).ConfigureAwait(false);
            if (DateTimeOffset.UtcNow >= until)
            {
                var current = await etcd.RangeAsync(LockKey, prefix: false, cancellationToken).ConfigureAwait(false);
                var who = current.Kvs.Count == 0 ? "another run (it has just finished: try again)" : LockHolder.Describe(current.Kvs[0].Value);
                throw new ClusterLockedException(
                    $"the cluster is locked by {who}; wait for it (--lock-timeout 5m waits), or if that run is gone: overlayctl unlock -f SPEC");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<string?> UnlockAsync(CancellationToken cancellationToken)
    {
        var current = await etcd.RangeAsync(LockKey, prefix: false, cancellationToken).ConfigureAwait(false);
        if (current.Kvs.Count == 0) return null;
        await etcd.DeleteAsync(LockKey, prefix: false, cancellationToken).ConfigureAwait(false);
        return LockHolder.Describe(current.Kvs[0].Value);
    }

    private static readonly TimeSpan LockTtl = TimeSpan.FromSeconds(15);

    /// <summary>Deletes a lease key unless it changed since the snapshot, with the holder's claim when it points there.</summary>
    private async Task<bool> DeleteLeaseKeyAsync(Snapshot snapshot, string key, CancellationToken cancellationToken)
    {
        if (!snapshot.Revisions.TryGetValue(key, out var revision)) return false;
        var ops = new List<TxnOp> { new TxnOp.Delete(key) };
        foreach (var (address, claim) in snapshot.Claims)
            if (claim.Value == key) ops.Add(new TxnOp.Delete(ClaimKey(address)));
        return await etcd.TxnAsync([new TxnCompare.ModRevisionIs(key, revision)], ops, cancellationToken).ConfigureAwait(false);
    }

    private static string Truncate(string value) => value.Length <= 60 ? value : value[..60] + "...";

    /// <summary>
    /// One attempt from one snapshot: returns the lease and the snapshot as it is after our write, or
    /// (null, null) when the guard failed and the caller must re-read.
    /// </summary>
    /// <remarks>
    /// The first attempt takes the lowest free subnet, which is what <c>plan</c> predicts; after a lost race
    /// (<paramref name="spread"/>) it picks at random among the first free ones, as flannel does, so
    /// concurrent allocators stop colliding.
    /// </remarks>
    private async Task<(Lease? Lease, Snapshot? After)> TryAcquireAsync(NetworkConfig config, LeaseRequest request, Snapshot snapshot, bool spread, CancellationToken cancellationToken)
    {
        var claimKey = ClaimKey(request.PublicIp);
        snapshot.Claims.TryGetValue(request.PublicIp, out var claim);
        var held = snapshot.Leases.Where(l => l.Lease.PublicIp == request.PublicIp).OrderBy(l => l.CreateRevision).FirstOrDefault();
        var claimGuard = claim is null ? (TxnCompare)new TxnCompare.Absent(claimKey) : new TxnCompare.ModRevisionIs(claimKey, claim.ModRevision);

        // A held lease stays where it is when its IPv4 subnet is still wanted and its IPv6 half is what the config
        // asks for (present and in range when dual-stack, absent when not); else its key moves (below).
        var keep4 = held is not null && (request.PinnedSubnet is null || request.PinnedSubnet == held.Lease.Subnet);
        var keep6 = held is not null && (config.Ipv6 is { } wanted6
            ? held.Lease.Subnet6 is { } h6 && (request.PinnedSubnet6 is null || request.PinnedSubnet6.Value.Equals(h6)) && Ipam.CheckPin(wanted6, h6) is null
            : held.Lease.Subnet6 is null);
        if (held is not null && keep4 && keep6)
        {
            var key = held.Key;
            var updated = held.Lease.WithData(request);
            var value = FlannelFormat.SerializeLease(updated);
            var ops = new List<TxnOp>();
            if (value != held.Value) ops.Add(new TxnOp.Put(key, value, held.Lease.EtcdLeaseId));
            if (claim?.Value != key) ops.Add(new TxnOp.Put(claimKey, key, held.Lease.EtcdLeaseId));
            if (ops.Count == 0) return (held.Lease, snapshot);
            var ok = await etcd.TxnAsync([new TxnCompare.ModRevisionIs(key, held.ModRevision), claimGuard], ops, cancellationToken).ConfigureAwait(false);
            return ok ? (updated, null) : (null, null);
        }

        Ipv4Cidr subnet;
        if (keep4)
        {
            subnet = held!.Lease.Subnet;
        }
        else if (request.PinnedSubnet is { } pin)
        {
            if (Ipam.CheckPin(config, pin) is { } problem) throw new LeaseException($"{request.HostName}: pinned subnet {problem}");
            var holder = snapshot.Leases.FirstOrDefault(l => l.Lease.Subnet.Overlaps(pin) && l.Lease.PublicIp != request.PublicIp);
            if (holder is not null)
                throw new LeaseException($"{request.HostName}: pinned subnet {pin} is held by {holder.Lease.PublicIp} ({holder.Key}); release it (overlayctl leases release) or pin another subnet");
            if (snapshot.Unreadable.FirstOrDefault(u => u.Subnet is { } s && s.Overlaps(pin)) is { } unreadable)
                throw new LeaseException($"{request.HostName}: pinned subnet {pin} is under {unreadable.Key}, which overlayctl cannot read ({unreadable.Problem}); inspect it with etcdctl get, delete it with overlayctl leases release --key, or pin another subnet");
            subnet = pin;
        }
        else
        {
            var taken = snapshot.Leases.Select(l => l.Lease.Subnet).Concat(snapshot.Unreadable.Where(u => u.Subnet is not null).Select(u => u.Subnet!.Value)).ToList();
            subnet = spread ? Ipam.PickFree(config, taken, _random) : Ipam.FirstFree(config, taken);
        }
        var subnet6 = config.Ipv6 is { } v6 ? Subnet6For(v6, request, held?.Lease, snapshot, spread) : (System.Net.IPNetwork?)null;

        // A pinned subnet is the operator's choice, never left to expire; a lease that only moves keeps its etcd lease.
        long etcdLease = 0;
        if (keep4) etcdLease = held!.Lease.EtcdLeaseId;
        else if (ttl is { } t && request.PinnedSubnet is null) etcdLease = await etcd.LeaseGrantAsync(t, cancellationToken).ConfigureAwait(false);
        var lease = new Lease(subnet, request.PublicIp, request.BackendType, request.Vni, request.VtepMac, etcdLease, Subnet6: subnet6).WithData(request);
        var leaseKey = FlannelFormat.LeaseKey(Prefix, lease);
        var writes = new List<TxnOp> { new TxnOp.Put(leaseKey, FlannelFormat.SerializeLease(lease), etcdLease), new TxnOp.Put(claimKey, leaseKey, etcdLease) };
        var compares = new List<TxnCompare> { new TxnCompare.Absent(leaseKey), claimGuard };
        if (held is not null)
        {
            // The pin moved, or IPv6 came or went: the old key goes in the same transaction as the new one comes.
            compares.Add(new TxnCompare.ModRevisionIs(held.Key, held.ModRevision));
            writes.Add(new TxnOp.Delete(held.Key));
        }
        if (!await etcd.TxnAsync(compares, writes, cancellationToken).ConfigureAwait(false))
        {
            if (etcdLease != 0 && !keep4) await etcd.LeaseRevokeAsync(etcdLease, cancellationToken).ConfigureAwait(false);
            return (null, null);
        }
        var leases = snapshot.Leases.Where(l => l != held).Append(new StoredLease(leaseKey, lease, FlannelFormat.SerializeLease(lease), 0, 0)).ToList();
        var claims = new Dictionary<Ipv4Address, KeyValue>(snapshot.Claims) { [request.PublicIp] = new KeyValue(claimKey, leaseKey, 0, 0, 1, 0) };
        // Revisions of our own writes are unknown without another read; a later guard on them fails and re-reads.
        return (lease, snapshot with { Leases = leases, Claims = claims });
    }

    /// <summary>
    /// The IPv6 subnet a request gets: its pin, else what its held lease had (still in range), else the first free one
    /// (at random after a lost race) around every IPv6 range taken by another holder or an unreadable key.
    /// </summary>
    private System.Net.IPNetwork Subnet6For(Ipv6NetworkConfig config, LeaseRequest request, Lease? held, Snapshot snapshot, bool spread)
    {
        var others = snapshot.Leases.Where(l => l.Lease.PublicIp != request.PublicIp).ToList();
        if (request.PinnedSubnet6 is { } pin)
        {
            if (Ipam.CheckPin(config, pin) is { } problem) throw new LeaseException($"{request.HostName}: pinned subnet6 {problem}");
            if (others.FirstOrDefault(l => l.Lease.Subnet6 is { } s && Ipv6.Overlaps(s, pin)) is { } holder)
                throw new LeaseException($"{request.HostName}: pinned subnet6 {pin} is held by {holder.Lease.PublicIp} ({holder.Key}); release it (overlayctl leases release) or pin another subnet6");
            if (snapshot.Unreadable.FirstOrDefault(u => u.Subnet6 is { } s && Ipv6.Overlaps(s, pin)) is { } unreadable)
                throw new LeaseException($"{request.HostName}: pinned subnet6 {pin} is under {unreadable.Key}, which overlayctl cannot read ({unreadable.Problem}); inspect it with etcdctl get, delete it with overlayctl leases release --key, or pin another subnet6");
            return pin;
        }
        var taken = others.Where(l => l.Lease.Subnet6 is not null).Select(l => l.Lease.Subnet6!.Value)
            .Concat(snapshot.Unreadable.Where(u => u.Subnet6 is not null).Select(u => u.Subnet6!.Value)).ToList();
        if (held?.Subnet6 is { } mine && Ipam.CheckPin(config, mine) is null && !taken.Any(t => Ipv6.Overlaps(t, mine))) return mine;
        return spread ? Ipam.PickFree(config, taken, _random) : Ipam.FirstFree(config, taken);
    }

    public async Task<bool> RenewAsync(Lease lease, CancellationToken cancellationToken) =>
        lease.EtcdLeaseId == 0 || await etcd.LeaseKeepAliveAsync(lease.EtcdLeaseId, cancellationToken).ConfigureAwait(false) > TimeSpan.Zero;

    public async IAsyncEnumerable<long> ChangesAsync(long afterRevision, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // overlayctl's own keys (claims move with their leases; the lock comes and goes with every run) wake no one.
        var own = Prefix + "/overlayctl/";
        await foreach (var batch in etcd.WatchAsync(Prefix + "/", afterRevision + 1, cancellationToken).ConfigureAwait(false))
            if (batch.Events.Any(e => !e.Kv.Key.StartsWith(own, StringComparison.Ordinal)))
                yield return batch.Revision;
    }

    /// <summary>
    /// The prefix at one revision. Without <paramref name="withClaims"/> (reading, not allocating) only the
    /// config and the subnets are fetched, in one request: a list then reads what etcdctl would.
    /// </summary>
    private async Task<Snapshot> ReadAsync(CancellationToken cancellationToken, bool withClaims = true)
    {
        RangeResult range;
        if (withClaims)
        {
            range = await etcd.RangeAsync(Prefix + "/", prefix: true, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var parts = await etcd.RangesAsync([(FlannelFormat.ConfigKey(Prefix), false), (FlannelFormat.SubnetsPrefix(Prefix), true)], cancellationToken).ConfigureAwait(false);
            range = new RangeResult([.. parts[0].Kvs, .. parts[1].Kvs], parts[0].Revision);
        }
        KeyValue? config = null;
        var leases = new List<StoredLease>();
        var unreadable = new List<UnreadableLease>();
        var claims = new Dictionary<Ipv4Address, KeyValue>();
        var revisions = new Dictionary<string, long>();
        var subnets = FlannelFormat.SubnetsPrefix(Prefix);
        var claimPrefix = Prefix + "/overlayctl/hosts/";
        foreach (var kv in range.Kvs)
        {
            if (kv.Key == FlannelFormat.ConfigKey(Prefix))
            {
                config = kv;
            }
            else if (kv.Key.StartsWith(subnets, StringComparison.Ordinal))
            {
                revisions[kv.Key] = kv.ModRevision;
                if (!FlannelFormat.TryParseSubnetKey(kv.Key[subnets.Length..], out var subnet, out var subnet6))
                    unreadable.Add(new UnreadableLease(kv.Key, null, "the key is not a flannel subnet key (a.b.c.d-n, optionally &IPv6-n)"));
                else if (subnet is not { } four)
                    unreadable.Add(new UnreadableLease(kv.Key, null, "an IPv6-only lease: overlayctl leases IPv4 subnets, alone or with IPv6") { Subnet6 = subnet6 });
                else if (FlannelFormat.ParseLease(four, kv.Value, out var problem, kv.Lease, kv.ModRevision, subnet6) is { } lease)
                    leases.Add(new StoredLease(kv.Key, lease, kv.Value, kv.ModRevision, kv.CreateRevision));
                else
                    unreadable.Add(new UnreadableLease(kv.Key, four, problem!) { Subnet6 = subnet6 });
            }
            else if (kv.Key.StartsWith(claimPrefix, StringComparison.Ordinal) && Ipv4Address.TryParse(kv.Key[claimPrefix.Length..], out var address))
            {
                claims[address] = kv;
            }
        }
        return new Snapshot(config, leases, unreadable, claims, revisions, range.Revision);
    }

    private sealed record StoredLease(string Key, Lease Lease, string Value, long ModRevision, long CreateRevision);

    private sealed record Snapshot(
        KeyValue? Config,
        IReadOnlyList<StoredLease> Leases,
        IReadOnlyList<UnreadableLease> Unreadable,
        IReadOnlyDictionary<Ipv4Address, KeyValue> Claims,
        IReadOnlyDictionary<string, long> Revisions,
        long Revision);
}
