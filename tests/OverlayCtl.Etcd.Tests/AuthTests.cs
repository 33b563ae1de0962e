using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Etcd.Tests;

/// <summary>etcd with auth enabled: users, roles, expiring tokens, and the answers that are refusals.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private static readonly NetworkConfig Config = new(
        Ipv4Cidr.Parse("10.244.0.0/16"), 24, Ipv4Address.Parse("10.244.1.0"), Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472);

    private EtcdCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        // Tokens that expire after 2 s show that an expired token is renewed, not reported.
        _cluster = await EtcdCluster.StartAsync(1, null, "--auth-token", "simple", "--auth-token-ttl", "2");
        foreach (var args in new[]
        {
            new[] { "user", "add", "root:s3cret" }, ["user", "add", "reader:r3ad"], ["role", "add", "readonly"],
            ["role", "grant-permission", "readonly", "--prefix=true", "read", "/auth/"], ["user", "grant-role", "reader", "readonly"],
            ["auth", "enable"],
        })
            _cluster.Etcdctl(null, args);
    }

    public Task DisposeAsync()
    {
        _cluster.Dispose();
        return Task.CompletedTask;
    }

    private static LeaseRequest Request(string ip) => new(Ipv4Address.Parse(ip), null, "vxlan", 1, MacAddress.ForVtep(Config.Network, Ipv4Address.Parse(ip)), ip);

    private EtcdLeaseStore Store(string? user, string? password, out EtcdGrpcClient client)
    {
        client = new EtcdGrpcClient(new EtcdClientOptions(_cluster.ClientUrls, null, user, password));
        return new EtcdLeaseStore(client, "/auth/network");
    }

    [Fact]
    public async Task AUserAndPasswordAuthenticateAndAnExpiredTokenIsRenewed()
    {
        var store = Store("root", "s3cret", out var client);
        using (client)
        {
            await store.EnsureConfigAsync(Config, default);
            Assert.Single(await store.AcquireAsync(Config, [Request("192.0.2.1")], default));
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.Single(await store.ListAsync(default));
        }
    }

    [Fact]
    public async Task AWrongPasswordIsARefusalNamingTheUserButNotThePassword()
    {
        var store = Store("root", "wrong-pw", out var client);
        using (client)
        {
            var e = await Assert.ThrowsAsync<StoreRefusedException>(() => store.ListAsync(default));
            Assert.Contains("refused authentication as 'root'", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong-pw", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NoUserAgainstAuthEnabledEtcdSaysToGiveOne()
    {
        var store = Store(null, null, out var client);
        using (client)
        {
            var e = await Assert.ThrowsAsync<StoreRefusedException>(() => store.ListAsync(default));
            Assert.Contains("user name is empty", e.Message, StringComparison.Ordinal);
            Assert.Contains("--user", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AUserWithoutWriteAccessIsRefusedWithTheRoleToFix()
    {
        var store = Store("reader", "r3ad", out var client);
        using (client)
        {
            Assert.Empty(await store.ListAsync(default));
            var e = await Assert.ThrowsAsync<StoreRefusedException>(() => store.EnsureConfigAsync(Config with { SubnetLen = 25 }, default));
            Assert.Contains("permission denied", e.Message, StringComparison.Ordinal);
            Assert.Contains("grant-permission", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AWatchWithoutReadAccessIsARefusalNotAnEndlessRetry()
    {
        using var client = new EtcdGrpcClient(new EtcdClientOptions(_cluster.ClientUrls, null, "reader", "r3ad"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var e = await Assert.ThrowsAsync<StoreRefusedException>(async () =>
        {
            await foreach (var _ in client.WatchAsync("/elsewhere/", 1, cts.Token)) { }
        });
        Assert.Contains("permission denied", e.Message, StringComparison.Ordinal);
    }
}
