using OverlayCtl.Core.Leases;

namespace OverlayCtl.Etcd.Tests;

/// <summary>The cluster lock in etcd: one holder at a time, named to whoever else tries, dying with its lease.</summary>
[Collection(EtcdCollection.Name)]
public sealed class ClusterLockTests(EtcdFixture etcd) : IDisposable
{
    private readonly EtcdGrpcClient _client = new(new EtcdClientOptions(etcd.Cluster.ClientUrls));
    private readonly string _prefix = EtcdFixture.UniquePrefix();

    public void Dispose() => _client.Dispose();

    private static LockHolder Holder(string command) => new("ops", "bastion", 4242, command, DateTimeOffset.Parse("2026-11-29T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task ASecondRunIsRefusedAtOnceNamingTheHolderAndTheWayOut()
    {
        var store = new EtcdLeaseStore(_client, _prefix);
        await using (await store.LockAsync(Holder("overlayctl apply"), TimeSpan.Zero, default))
        {
            var e = await Assert.ThrowsAsync<ClusterLockedException>(() => store.LockAsync(Holder("overlayctl destroy"), TimeSpan.Zero, default));
            Assert.Contains("ops@bastion pid 4242 running 'overlayctl apply' since 2026-11-29T10:00:00Z", e.Message, StringComparison.Ordinal);
            Assert.Contains("overlayctl unlock", e.Message, StringComparison.Ordinal);
            var key = Assert.Single((await _client.RangeAsync(store.LockKey, prefix: false, default)).Kvs);
            Assert.NotEqual(0, key.Lease); // dies with its etcd lease when the holder crashes
        }
        Assert.Empty((await _client.RangeAsync(store.LockKey, prefix: false, default)).Kvs);
    }

    [Fact]
    public async Task AWaitingRunTakesTheLockWhenTheHolderFinishes()
    {
        var store = new EtcdLeaseStore(_client, _prefix);
        var first = await store.LockAsync(Holder("overlayctl apply"), TimeSpan.Zero, default);
        var second = store.LockAsync(Holder("overlayctl apply"), TimeSpan.FromSeconds(10), default);
        await Task.Delay(TimeSpan.FromMilliseconds(600));
        Assert.False(second.IsCompleted);
        await first.DisposeAsync();
        await using (await second.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            Assert.Single((await _client.RangeAsync(store.LockKey, prefix: false, default)).Kvs);
        }
    }

    [Fact]
    public async Task UnlockClearsALockAndSaysWhoseItWas()
    {
        var store = new EtcdLeaseStore(_client, _prefix);
        Assert.Null(await store.UnlockAsync(default));
        var abandoned = await store.LockAsync(Holder("overlayctl apply"), TimeSpan.Zero, default);
        Assert.Contains("ops@bastion", await store.UnlockAsync(default), StringComparison.Ordinal);
        await using (await store.LockAsync(Holder("overlayctl destroy"), TimeSpan.Zero, default))
        {
        }
        await abandoned.DisposeAsync();
    }
}
