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
        using var client = new EtcdHttpClient(new EtcdClientOptions(cluster.ClientUrls) { CommandTimeout = TimeSpan.FromSeconds(3) });
        var store = new EtcdLeaseStore(client, EtcdFixture.UniquePrefix());
        await store.EnsureConfigAsync(Config, default);
        var leases = await store.AcquireAsync(Config, [Request("192.0.2.1"), Request("192.0.2.2")], default);
        Assert.Equal(2, leases.Select(l => l.Subnet).Distinct().Count());
        Assert.Equal(2, (await store.ListAsync(default)).Count);
    }

    [Fact]
    public async Task EtcdDownIsACleanErrorNamingEveryEndpoint()
    {
        using var cluster = await EtcdCluster.StartAsync();
        var url = cluster.ClientUrl;
        cluster.Kill(0);
        using var client = new EtcdHttpClient(new EtcdClientOptions([url, new Uri("http://127.0.0.1:1")]));
        var store = new EtcdLeaseStore(client, "/down/network");
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.AcquireAsync(Config, [Request("192.0.2.1")], default));
        Assert.Contains(url.ToString(), e.Message, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserAndPasswordAuthenticateAndAWrongPasswordIsACleanError()
    {
        using var cluster = await EtcdCluster.StartAsync();
        foreach (var args in new[] { new[] { "user", "add", "root:s3cret" }, ["auth", "enable"] })
            Etcdctl(cluster, null, args);

        using var good = new EtcdHttpClient(new EtcdClientOptions(cluster.ClientUrls, null, "root", "s3cret"));
        var store = new EtcdLeaseStore(good, "/auth/network");
        Assert.Single(await store.AcquireAsync(Config, [Request("192.0.2.1")], default));

        using var bad = new EtcdHttpClient(new EtcdClientOptions(cluster.ClientUrls, null, "root", "wrong"));
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => new EtcdLeaseStore(bad, "/auth/network").ListAsync(default));
        Assert.Contains("authentication as 'root' failed", e.Message, StringComparison.Ordinal);

        using var anonymous = new EtcdHttpClient(new EtcdClientOptions(cluster.ClientUrls));
        await Assert.ThrowsAsync<EtcdException>(() => new EtcdLeaseStore(anonymous, "/auth/network").ListAsync(default));
    }

    private static void Etcdctl(EtcdCluster cluster, string? user, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--endpoints", cluster.Endpoints }.Concat(user is null ? [] : ["--user", user]).Concat(args)) start.ArgumentList.Add(a);
        start.Environment["ETCDCTL_API"] = "3";
        using var p = System.Diagnostics.Process.Start(start)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"etcdctl {string.Join(' ', args)}: {err}");
    }
}
