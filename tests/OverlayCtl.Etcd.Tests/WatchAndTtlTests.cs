namespace OverlayCtl.Etcd.Tests;

/// <summary>What the agent stands on: watching a prefix from a revision, and keys that live as long as a kept-alive lease.</summary>
[Collection(EtcdCollection.Name)]
public sealed class WatchAndTtlTests(EtcdFixture etcd) : IDisposable
{
    private readonly EtcdGrpcClient _client = new(new EtcdClientOptions(etcd.Cluster.ClientUrls));
    private readonly string _prefix = EtcdFixture.UniquePrefix();

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task AWatchFromARevisionSeesEveryLaterChangeInOrder()
    {
        await _client.PutAsync(_prefix + "/before", "x", 0, default);
        var from = (await _client.RangeAsync(_prefix + "/", prefix: true, default)).Revision + 1;
        await _client.PutAsync(_prefix + "/a", "1", 0, default);
        await _client.PutAsync(_prefix + "/b", "2", 0, default);
        await _client.DeleteAsync(_prefix + "/a", prefix: false, default);
        await _client.PutAsync(_prefix + "/b", "3", 0, default);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var seen = new List<string>();
        long last = 0;
        await foreach (var batch in _client.WatchAsync(_prefix + "/", from, cts.Token))
        {
            foreach (var e in batch.Events)
            {
                Assert.True(e.Kv.ModRevision > last);
                last = e.Kv.ModRevision;
                seen.Add($"{e.Kind} {e.Kv.Key[_prefix.Length..]} {e.Kv.Value}");
            }
            if (seen.Count == 4) break;
        }
        Assert.Equal(["Put /a 1", "Put /b 2", "Delete /a ", "Put /b 3"], seen);
    }

    [Fact]
    public async Task AWatchFromACompactedRevisionIsReportedSoTheCallerCanResync()
    {
        await _client.PutAsync(_prefix + "/a", "1", 0, default);
        var old = (await _client.RangeAsync(_prefix + "/a", prefix: false, default)).Revision;
        await _client.PutAsync(_prefix + "/a", "2", 0, default);
        var now = (await _client.RangeAsync(_prefix + "/a", prefix: false, default)).Revision;
        etcd.Cluster.Etcdctl(null, "compact", now.ToString(System.Globalization.CultureInfo.InvariantCulture));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var e = await Assert.ThrowsAsync<WatchCompactedException>(async () =>
        {
            await foreach (var _ in _client.WatchAsync(_prefix + "/", old, cts.Token)) { }
        });
        Assert.Equal(old, e.RequestedRevision);
        Assert.True(e.CompactRevision >= now);
    }

    [Fact]
    public async Task AKeyLivesWhileItsLeaseIsKeptAliveAndDiesWithIt()
    {
        var lease = await _client.LeaseGrantAsync(TimeSpan.FromSeconds(2), default);
        await _client.PutAsync(_prefix + "/ttl", "x", lease, default);
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(700));
            Assert.True(await _client.LeaseKeepAliveAsync(lease, default) > TimeSpan.Zero);
        }
        Assert.Single((await _client.RangeAsync(_prefix + "/ttl", prefix: false, default)).Kvs);

        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Empty((await _client.RangeAsync(_prefix + "/ttl", prefix: false, default)).Kvs);
        Assert.Equal(TimeSpan.Zero, await _client.LeaseKeepAliveAsync(lease, default));
    }

    [Fact]
    public async Task RevokingALeaseDeletesItsKeysAtOnce()
    {
        var lease = await _client.LeaseGrantAsync(TimeSpan.FromSeconds(60), default);
        await _client.PutAsync(_prefix + "/gone", "x", lease, default);
        await _client.LeaseRevokeAsync(lease, default);
        Assert.Empty((await _client.RangeAsync(_prefix + "/gone", prefix: false, default)).Kvs);
        await _client.LeaseRevokeAsync(lease, default); // revoking twice is not an error
    }

    private static readonly Core.Leases.NetworkConfig Config = new(Core.Net.Ipv4Cidr.Parse("10.244.0.0/16"), 24,
        Core.Net.Ipv4Address.Parse("10.244.1.0"), Core.Net.Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472);

    private static Core.Leases.LeaseRequest Request(string address, string? pin = null) =>
        new(Core.Net.Ipv4Address.Parse(address), pin is null ? null : Core.Net.Ipv4Cidr.Parse(pin), "vxlan", 1, null, address);

    [Fact]
    public async Task AnAgentsLeaseWithATtlLivesWhileRenewedAndItsSubnetIsFreedWhenItsHostIsGone()
    {
        var store = new EtcdLeaseStore(_client, _prefix, TimeSpan.FromSeconds(2));
        var leases = await store.AcquireAsync(Config, [Request("198.18.0.11"), Request("198.18.0.12"), Request("198.18.0.13", "10.244.9.0/24")], default);
        Assert.All(leases.Take(2), l => Assert.NotEqual(0, l.EtcdLeaseId));
        Assert.Equal(0, leases[2].EtcdLeaseId);

        // .11 is renewed (as its agent does on every convergence); .12's agent is gone.
        for (var i = 0; i < 8; i++)
        {
            Assert.True(await store.RenewAsync(leases[0], default));
            await Task.Delay(500);
        }
        var left = await store.SnapshotAsync(default);
        Assert.Equal(["198.18.0.11", "198.18.0.13"], left.Leases.Select(l => l.PublicIp.ToString()).Order());
        Assert.False(await store.RenewAsync(leases[1], default));
        // The claim went with the lease: taking a lease again for .12 works at once.
        Assert.Equal("10.244.2.0/24", (await store.AcquireAsync(Config, [Request("198.18.0.12")], default))[0].Subnet.ToString());
        Assert.EndsWith("/subnets/10.244.2.0-24", Assert.Single((await _client.RangeAsync(_prefix + "/overlayctl/hosts/198.18.0.12", prefix: false, default)).Kvs).Value, StringComparison.Ordinal);
    }
}
