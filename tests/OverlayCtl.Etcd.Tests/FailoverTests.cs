using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Testing;

namespace OverlayCtl.Etcd.Tests;

/// <summary>Members that die, and etcd that is not there at all.</summary>
public sealed class FailoverTests
{
    private static readonly NetworkConfig Config = new(
        Ipv4Cidr.Parse("10.244.0.0/16"), 24, Ipv4Address.Parse("10.244.1.0"), Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472);

    private static LeaseRequest Request(string ip) => new(Ipv4Address.Parse(ip), null, "vxlan", 1, MacAddress.ForVtep(Config.Network, Ipv4Address.Parse(ip)), ip);

    [Fact]
    public async Task AThreeMemberClusterWithOneMemberKilledStillAllocates()
    {
        using var cluster = await EtcdCluster.StartAsync(members: 3);
        cluster.Kill(0);
        using var client = new EtcdGrpcClient(new EtcdClientOptions(cluster.ClientUrls) { CommandTimeout = TimeSpan.FromSeconds(3) });
        var store = new EtcdLeaseStore(client, EtcdFixture.UniquePrefix());
        await store.EnsureConfigAsync(Config, default);
        var leases = await store.AcquireAsync(Config, [Request("192.0.2.1"), Request("192.0.2.2")], default);
        Assert.Equal(2, leases.Select(l => l.Subnet).Distinct().Count());
        Assert.Equal(2, (await store.ListAsync(default)).Count);
    }

    [Fact]
    public async Task AMemberThatHangsTimesOutAndTheNextOneAnswersOrItIsACleanError()
    {
        using var cluster = await EtcdCluster.StartAsync(members: 3);
        var options = new EtcdClientOptions(cluster.ClientUrls) { CommandTimeout = TimeSpan.FromSeconds(1) };
        using var client = new EtcdGrpcClient(options);
        await client.PutAsync("/hang/a", "1", 0, default);
        cluster.Freeze(0);
        try
        {
            // The client stays on the member that answered last (the first): it hangs, the next one answers.
            Assert.Equal("1", Assert.Single((await client.RangeAsync("/hang/a", prefix: false, default)).Kvs).Value);
        }
        finally
        {
            cluster.Freeze(0, frozen: false);
        }

        using var alone = await EtcdCluster.StartAsync();
        using var one = new EtcdGrpcClient(new EtcdClientOptions(alone.ClientUrls) { CommandTimeout = TimeSpan.FromSeconds(1) });
        await one.PutAsync("/hang/a", "1", 0, default);
        alone.Freeze(0);
        try
        {
            var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => one.RangeAsync("/hang/a", prefix: false, default));
            Assert.Contains("no answer within 1s", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            alone.Freeze(0, frozen: false);
        }
    }

    [Fact]
    public async Task EtcdDownIsACleanErrorNamingEveryEndpoint()
    {
        using var cluster = await EtcdCluster.StartAsync();
        var url = cluster.ClientUrl;
        cluster.Kill(0);
        using var client = new EtcdGrpcClient(new EtcdClientOptions([url, new Uri("http://127.0.0.1:1")]));
        var store = new EtcdLeaseStore(client, "/down/network");
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.AcquireAsync(Config, [Request("192.0.2.1")], default));
        Assert.Contains(url.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerThatIsNotEtcdIsSkippedAndTheEtcdAfterItServes()
    {
        using var cluster = await EtcdCluster.StartAsync();
        using var notEtcd = new NotEtcd();
        using var client = new EtcdGrpcClient(new EtcdClientOptions([notEtcd.Url, cluster.ClientUrl]));
        var store = new EtcdLeaseStore(client, EtcdFixture.UniquePrefix());
        await store.EnsureConfigAsync(Config, default);
        Assert.Single(await store.AcquireAsync(Config, [Request("192.0.2.1")], default));
    }

    [Fact]
    public async Task AServerThatIsNotEtcdAloneIsUnavailableAndNamed()
    {
        using var notEtcd = new NotEtcd();
        using var client = new EtcdGrpcClient(new EtcdClientOptions([notEtcd.Url]));
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => new EtcdLeaseStore(client, "/not/network").ListAsync(default));
        Assert.Contains(notEtcd.Url.ToString(), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpsAgainstAPlainEtcdNamesTheTlsCause()
    {
        using var cluster = await EtcdCluster.StartAsync();
        var https = new UriBuilder(cluster.ClientUrl) { Scheme = "https" }.Uri;
        using var client = new EtcdGrpcClient(new EtcdClientOptions([https]));
        var e = await Assert.ThrowsAsync<StoreRefusedException>(() => new EtcdLeaseStore(client, "/tls/network").ListAsync(default));
        Assert.Contains("TLS handshake failed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWatchSurvivesTheDeathOfTheMemberItStreamsFromWithoutLosingAnEvent()
    {
        using var cluster = await EtcdCluster.StartAsync(members: 3);
        using var client = new EtcdGrpcClient(new EtcdClientOptions(cluster.ClientUrls) { CommandTimeout = TimeSpan.FromSeconds(3), DialTimeout = TimeSpan.FromSeconds(1) });
        var prefix = EtcdFixture.UniquePrefix();
        var start = (await client.RangeAsync(prefix, prefix: true, default)).Revision + 1;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        var watch = Task.Run(async () =>
        {
            await foreach (var batch in client.WatchAsync(prefix + "/", start, cts.Token))
            {
                seen.AddRange(batch.Events.Select(e => e.Kv.Key));
                if (seen.Count == 20) return;
            }
        });
        using var writer = new EtcdGrpcClient(new EtcdClientOptions(cluster.ClientUrls.Skip(1).ToList()));
        for (var i = 0; i < 10; i++) await writer.PutAsync($"{prefix}/k{i:00}", "v", 0, default);
        cluster.Kill(0); // the watch streams from the first endpoint listed
        for (var i = 10; i < 20; i++)
        {
            // If the killed member led, the other two elect a leader first: the writer waits that out.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await writer.PutAsync($"{prefix}/k{i:00}", "v", 0, default);
                    break;
                }
                catch (StoreUnavailableException) when (attempt < 40)
                {
                    await Task.Delay(250);
                }
            }
        }
        await watch.WaitAsync(cts.Token);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"{prefix}/k{i:00}"), seen);
    }
}
