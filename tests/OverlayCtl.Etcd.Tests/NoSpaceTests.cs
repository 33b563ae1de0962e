using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Etcd.Tests;

/// <summary>etcd past its quota raises the NOSPACE alarm and refuses writes: a refusal with the way out, not a crash.</summary>
public sealed class NoSpaceTests
{
    [Fact]
    public async Task AFullEtcdIsARefusalThatSaysHowToRecover()
    {
        using var cluster = await EtcdCluster.StartAsync(1, null, "--quota-backend-bytes", "200000");
        using var client = new EtcdGrpcClient(new EtcdClientOptions(cluster.ClientUrls));
        var filler = new string('x', 100_000);
        // etcd checks its quota against the backend's size, which grows when a batch commits (every
        // 100 ms): write until it refuses, not a fixed count.
        await Assert.ThrowsAsync<StoreRefusedException>(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await client.PutAsync($"/filler/{i}", filler, 0, default);
                await Task.Delay(50);
            }
        });
        var store = new EtcdLeaseStore(client, "/full/network");
        var config = new NetworkConfig(Ipv4Cidr.Parse("10.246.0.0/16"), 24, Ipv4Address.Parse("10.246.1.0"), Ipv4Address.Parse("10.246.255.0"), "vxlan", 1, 8472);
        var e = await Assert.ThrowsAsync<StoreRefusedException>(() => store.EnsureConfigAsync(config, default));
        Assert.Contains("database space exceeded", e.Message, StringComparison.Ordinal);
        Assert.Contains("alarm disarm", e.Message, StringComparison.Ordinal);
    }
}
