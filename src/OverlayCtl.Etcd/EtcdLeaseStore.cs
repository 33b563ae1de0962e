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

    public async Task<NetworkConfig?> GetConfigAsync(CancellationToken cancellationToken)
    {
        var range = await etcd.RangeAsync(FlannelFormat.ConfigKey(Prefix), prefix: false, cancellationToken).ConfigureAwait(false);
        return range.Kvs.Count == 0 ? null : FlannelFormat.ParseConfig(range.Kvs[0].Value)
            ?? throw new LeaseException($"{FlannelFormat.ConfigKey(Prefix)} holds something that is not a flannel network config");
    }

    public async Task EnsureConfigAsync(NetworkConfig config, CancellationToken cancellationToken)
    {
        var key = FlannelFormat.ConfigKey(Prefix);
        var wanted = FlannelFormat.SerializeConfig(config);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var snapshot = await ReadAsync(cancellationToken).ConfigureAwait(false);
            if (snapshot.Config is { } current)
            {
                if (current.Value == wanted) return;
                var existing = FlannelFormat.ParseConfig(current.Value);
                var leases = snapshot.Leases.Count;
                if (existing is not null && leases > 0 && (existing.Network != config.Network || existing.SubnetLen != config.SubnetLen))
                    throw new LeaseException(
                        $"{key} says Network {existing.Network} with /{existing.SubnetLen} subnets and {leases} lease(s) exist; " +
                        $"the spec asks for {config.Network} with /{config.SubnetLen}. Changing it would strand those hosts: " +
                        "keep the spec's network as it is, or destroy with --release-leases first");
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
        (await ReadAsync(cancellationToken).ConfigureAwait(false)).Leases.Select(l => l.Lease).OrderBy(l => l.Subnet).ToList();

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
        var key = FlannelFormat.LeaseKey(Prefix, subnet);
        var range = await etcd.RangeAsync(key, prefix: false, cancellationToken).ConfigureAwait(false);
        if (range.Kvs.Count == 0) return false;
        var ops = new List<TxnOp> { new TxnOp.Delete(key) };
        if (FlannelFormat.ParseLease(subnet, range.Kvs[0].Value) is { } lease)
        {
            var claim = await etcd.RangeAsync(ClaimKey(lease.PublicIp), prefix: false, cancellationToken).ConfigureAwait(false);
            if (claim.Kvs.Count > 0 && claim.Kvs[0].Value == key) ops.Add(new TxnOp.Delete(ClaimKey(lease.PublicIp)));
        }
        return await etcd.TxnAsync([new TxnCompare.ModRevisionIs(key, range.Kvs[0].ModRevision)], ops, cancellationToken).ConfigureAwait(false);
    }

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

        if (held is not null && (request.PinnedSubnet is null || request.PinnedSubnet == held.Lease.Subnet))
        {
            var key = FlannelFormat.LeaseKey(Prefix, held.Lease.Subnet);
            var updated = held.Lease with { BackendType = request.BackendType, Vni = request.Vni, VtepMac = request.VtepMac };
            var value = FlannelFormat.SerializeLease(updated);
            var ops = new List<TxnOp>();
            if (value != held.Value) ops.Add(new TxnOp.Put(key, value, held.Lease.EtcdLeaseId));
            if (claim?.Value != key) ops.Add(new TxnOp.Put(claimKey, key));
            if (ops.Count == 0) return (held.Lease, snapshot);
            var ok = await etcd.TxnAsync([new TxnCompare.ModRevisionIs(key, held.ModRevision), claimGuard], ops, cancellationToken).ConfigureAwait(false);
            return ok ? (updated, null) : (null, null);
        }

        Ipv4Cidr subnet;
        if (request.PinnedSubnet is { } pin)
        {
            if (Ipam.CheckPin(config, pin) is { } problem) throw new LeaseException($"{request.HostName}: pinned subnet {problem}");
            var holder = snapshot.Leases.FirstOrDefault(l => l.Lease.Subnet.Overlaps(pin) && l.Lease.PublicIp != request.PublicIp);
            if (holder is not null)
                throw new LeaseException($"{request.HostName}: pinned subnet {pin} is held by {holder.Lease.PublicIp} ({FlannelFormat.LeaseKey(Prefix, holder.Lease.Subnet)}); release it (overlayctl leases release) or pin another subnet");
            subnet = pin;
        }
        else
        {
            var taken = snapshot.Leases.Select(l => l.Lease.Subnet).ToList();
            subnet = spread ? Ipam.PickFree(config, taken, _random) : Ipam.FirstFree(config, taken);
        }

        long etcdLease = 0;
        if (ttl is { } t) etcdLease = await etcd.LeaseGrantAsync(t, cancellationToken).ConfigureAwait(false);
        var lease = new Lease(subnet, request.PublicIp, request.BackendType, request.Vni, request.VtepMac, etcdLease);
        var leaseKey = FlannelFormat.LeaseKey(Prefix, subnet);
        var writes = new List<TxnOp> { new TxnOp.Put(leaseKey, FlannelFormat.SerializeLease(lease), etcdLease), new TxnOp.Put(claimKey, leaseKey) };
        var compares = new List<TxnCompare> { new TxnCompare.Absent(leaseKey), claimGuard };
        if (held is not null)
        {
            // The pin moved: the old lease goes in the same transaction as the new one comes.
            var oldKey = FlannelFormat.LeaseKey(Prefix, held.Lease.Subnet);
            compares.Add(new TxnCompare.ModRevisionIs(oldKey, held.ModRevision));
            writes.Add(new TxnOp.Delete(oldKey));
        }
        if (!await etcd.TxnAsync(compares, writes, cancellationToken).ConfigureAwait(false))
        {
            if (etcdLease != 0) await etcd.LeaseRevokeAsync(etcdLease, cancellationToken).ConfigureAwait(false);
            return (null, null);
        }
        var leases = snapshot.Leases.Where(l => l != held).Append(new StoredLease(lease, FlannelFormat.SerializeLease(lease), 0, 0)).ToList();
        var claims = new Dictionary<Ipv4Address, KeyValue>(snapshot.Claims) { [request.PublicIp] = new KeyValue(claimKey, leaseKey, 0, 0, 1, 0) };
        // Revisions of our own writes are unknown without another read; a later guard on them fails and re-reads.
        return (lease, new Snapshot(snapshot.Config, leases, claims));
    }

    private async Task<Snapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var range = await etcd.RangeAsync(Prefix + "/", prefix: true, cancellationToken).ConfigureAwait(false);
        KeyValue? config = null;
        var leases = new List<StoredLease>();
        var claims = new Dictionary<Ipv4Address, KeyValue>();
        var claimPrefix = Prefix + "/overlayctl/hosts/";
        foreach (var kv in range.Kvs)
        {
            if (kv.Key == FlannelFormat.ConfigKey(Prefix)) config = kv;
            else if (FlannelFormat.TryParseLeaseKey(Prefix, kv.Key, out var subnet))
            {
                if (FlannelFormat.ParseLease(subnet, kv.Value, kv.Lease, kv.ModRevision) is { } lease)
                    leases.Add(new StoredLease(lease, kv.Value, kv.ModRevision, kv.CreateRevision));
            }
            else if (kv.Key.StartsWith(claimPrefix, StringComparison.Ordinal) && Ipv4Address.TryParse(kv.Key[claimPrefix.Length..], out var address))
                claims[address] = kv;
        }
        return new Snapshot(config, leases, claims);
    }

    private sealed record StoredLease(Lease Lease, string Value, long ModRevision, long CreateRevision);

    private sealed record Snapshot(KeyValue? Config, IReadOnlyList<StoredLease> Leases, IReadOnlyDictionary<Ipv4Address, KeyValue> Claims);
}
