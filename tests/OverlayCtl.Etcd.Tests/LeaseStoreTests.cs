using OverlayCtl.Testing;
using System.Diagnostics;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Etcd.Tests;

/// <summary>The lease store against a real etcd: atomic, stable, flannel-compatible.</summary>
[Collection(EtcdCollection.Name)]
public sealed class LeaseStoreTests(EtcdFixture etcd) : IDisposable
{
    private static readonly NetworkConfig Config = new(
        Ipv4Cidr.Parse("10.244.0.0/16"), 24, Ipv4Address.Parse("10.244.1.0"), Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472);

    private readonly EtcdGrpcClient _client = new(new EtcdClientOptions(etcd.Cluster.ClientUrls));
    private readonly string _prefix = EtcdFixture.UniquePrefix();

    private EtcdLeaseStore Store() => new(_client, _prefix);

    private static LeaseRequest Request(string ip, string? pin = null) =>
        new(Ipv4Address.Parse(ip), pin is null ? null : Ipv4Cidr.Parse(pin), "vxlan", 1, MacAddress.ForVtep(Config.Network, Ipv4Address.Parse(ip)), "h-" + ip);

    [Fact]
    public async Task AHostKeepsItsSubnetAcrossAcquisitions()
    {
        var store = Store();
        await store.EnsureConfigAsync(Config, default);
        var first = (await store.AcquireAsync(Config, [Request("192.0.2.1"), Request("192.0.2.2")], default)).ToList();
        var again = await store.AcquireAsync(Config, [Request("192.0.2.2"), Request("192.0.2.1")], default);
        Assert.Equal(first[1].Subnet, again[0].Subnet);
        Assert.Equal(first[0].Subnet, again[1].Subnet);
        Assert.NotEqual(first[0].Subnet, first[1].Subnet);
        Assert.Equal(2, (await store.ListAsync(default)).Count);
    }

    [Fact]
    public async Task TheFirstLeaseIsTheLowestFreeSubnetAsPlanPredicts()
    {
        var lease = (await Store().AcquireAsync(Config, [Request("192.0.2.1")], default))[0];
        Assert.Equal("10.244.1.0/24", lease.Subnet.ToString());
    }

    [Fact]
    public async Task LeasesAreStoredInFlannelsFormatAndReadableWithEtcdctl()
    {
        var store = Store();
        await store.EnsureConfigAsync(Config, default);
        var lease = (await store.AcquireAsync(Config, [Request("192.0.2.7")], default))[0];

        var start = new ProcessStartInfo("etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--endpoints", etcd.Cluster.Endpoints, "get", "--prefix", _prefix + "/" }) start.ArgumentList.Add(a);
        start.Environment["ETCDCTL_API"] = "3";
        using var etcdctl = Process.Start(start)!;
        var output = await etcdctl.StandardOutput.ReadToEndAsync();
        await etcdctl.WaitForExitAsync();

        var key = $"{_prefix}/subnets/{lease.Subnet.Network}-24";
        Assert.Contains(key + "\n", output, StringComparison.Ordinal);
        Assert.Contains($"{{\"PublicIP\":\"192.0.2.7\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{{\"VNI\":1,\"VtepMAC\":\"{lease.VtepMac}\"}}}}", output, StringComparison.Ordinal);
        Assert.Contains("{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":24,\"SubnetMin\":\"10.244.1.0\",\"SubnetMax\":\"10.244.255.0\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":1,\"Port\":8472}}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APinnedSubnetIsHonouredAndRefusedToAnotherHolderNamingIt()
    {
        var store = Store();
        var pinned = (await store.AcquireAsync(Config, [Request("192.0.2.1", "10.244.42.0/24")], default))[0];
        Assert.Equal("10.244.42.0/24", pinned.Subnet.ToString());

        var refused = await Assert.ThrowsAsync<LeaseException>(() => store.AcquireAsync(Config, [Request("192.0.2.2", "10.244.42.0/24")], default));
        Assert.Contains("held by 192.0.2.1", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MovingAPinReleasesTheOldSubnetInTheSameTransaction()
    {
        var store = Store();
        await store.AcquireAsync(Config, [Request("192.0.2.1")], default);
        var moved = (await store.AcquireAsync(Config, [Request("192.0.2.1", "10.244.200.0/24")], default))[0];
        var all = await store.ListAsync(default);
        Assert.Equal("10.244.200.0/24", Assert.Single(all).Subnet.ToString());
        Assert.Equal(moved.Subnet, all[0].Subnet);
    }

    [Fact]
    public async Task ChangingTheNetworkUnderExistingLeasesIsRefused()
    {
        var store = Store();
        await store.EnsureConfigAsync(Config, default);
        await store.AcquireAsync(Config, [Request("192.0.2.1")], default);
        var other = Config with { Network = Ipv4Cidr.Parse("10.99.0.0/16"), SubnetMin = Ipv4Address.Parse("10.99.1.0"), SubnetMax = Ipv4Address.Parse("10.99.255.0") };
        var e = await Assert.ThrowsAsync<LeaseException>(() => store.EnsureConfigAsync(other, default));
        Assert.Contains("1 lease(s) exist", e.Message, StringComparison.Ordinal);
        Assert.Equal(Config.Network, (await store.SnapshotAsync(default)).Config!.Network);
    }

    [Fact]
    public async Task AnExhaustedRangeIsAClearErrorNamingTheRange()
    {
        var tiny = Config with { SubnetMin = Ipv4Address.Parse("10.244.1.0"), SubnetMax = Ipv4Address.Parse("10.244.2.0") };
        var store = Store();
        await store.AcquireAsync(tiny, [Request("192.0.2.1"), Request("192.0.2.2")], default);
        var e = await Assert.ThrowsAsync<LeaseException>(() => store.AcquireAsync(tiny, [Request("192.0.2.3")], default));
        Assert.Contains("no free /24 left in 10.244.1.0-10.244.2.0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReleaseFreesTheSubnetForTheNextHost()
    {
        var store = Store();
        var lease = (await store.AcquireAsync(Config, [Request("192.0.2.1")], default))[0];
        Assert.True(await store.ReleaseAsync(lease.Subnet, default));
        Assert.False(await store.ReleaseAsync(lease.Subnet, default));
        Assert.Empty(await store.ListAsync(default));
        var next = (await store.AcquireAsync(Config, [Request("192.0.2.9")], default))[0];
        Assert.Equal(lease.Subnet, next.Subnet);
    }

    [Fact]
    public async Task ConcurrentAllocatorsInOneProcessNeverShareASubnet()
    {
        var requests = Enumerable.Range(1, 24).Select(i => Request($"192.0.2.{i}")).ToList();
        var results = await Task.WhenAll(requests.Select(r => new EtcdLeaseStore(_client, _prefix).AcquireAsync(Config, [r], default)));
        var leases = await Store().ListAsync(default);
        Assert.Equal(24, leases.Count);
        Assert.Equal(24, leases.Select(l => l.Subnet).Distinct().Count());
        Assert.Equal(24, leases.Select(l => l.PublicIp).Distinct().Count());
        Assert.Equal(results.Select(r => r[0].Subnet).Order(), leases.Select(l => l.Subnet).Order());
    }

    [Fact]
    public async Task AFlannelDualStackLeaseIsListedAndItsSubnetNeverHandedOut()
    {
        var store = Store();
        await store.EnsureConfigAsync(Config, default);
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.244.1.0-24&fd00:10:244:1::-64",
            """{"PublicIP":"192.0.2.50","PublicIPv6":"fd00::50","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"},"BackendV6Data":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:45"}}""");
        var flannel = Assert.Single(await store.ListAsync(default));
        Assert.Equal("10.244.1.0/24", flannel.Subnet.ToString());
        Assert.Equal("fd00:10:244:1::/64", flannel.Subnet6?.ToString());

        var ours = (await store.AcquireAsync(Config, [Request("192.0.2.1")], default))[0];
        Assert.Equal("10.244.2.0/24", ours.Subnet.ToString());
        Assert.True(await store.ReleaseAsync(flannel.Subnet, default));
        Assert.Equal([ours.Subnet], (await store.ListAsync(default)).Select(l => l.Subnet));
    }

    [Fact]
    public async Task MalformedKeysAreReportedTheirRangesTakenAndTheyCanBeDeleted()
    {
        var store = Store();
        await store.EnsureConfigAsync(Config, default);
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.244.1.0-24", "[]");
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.244.2.0-24", "not json");
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/rubbish", "{}");

        var snapshot = await store.SnapshotAsync(default);
        Assert.Empty(snapshot.Leases);
        Assert.Collection(snapshot.Unreadable,
            u => Assert.Equal(("10.244.1.0/24", true), (u.Subnet?.ToString(), u.Problem.Contains("JSON array", StringComparison.Ordinal))),
            u => Assert.Equal(("10.244.2.0/24", true), (u.Subnet?.ToString(), u.Problem.Contains("not JSON", StringComparison.Ordinal))),
            u => Assert.Equal((null, true), (u.Subnet?.ToString(), u.Problem.Contains("not a flannel subnet key", StringComparison.Ordinal))));

        Assert.Equal("10.244.3.0/24", (await store.AcquireAsync(Config, [Request("192.0.2.1")], default))[0].Subnet.ToString());
        var pinned = await Assert.ThrowsAsync<LeaseException>(() => store.AcquireAsync(Config, [Request("192.0.2.2", "10.244.1.0/24")], default));
        Assert.Contains("cannot read", pinned.Message, StringComparison.Ordinal);

        Assert.True(await store.ReleaseAsync(Ipv4Cidr.Parse("10.244.1.0/24"), default));
        Assert.True(await store.ReleaseKeyAsync($"{_prefix}/subnets/rubbish", default));
        Assert.Equal([$"{_prefix}/subnets/10.244.2.0-24"], (await store.SnapshotAsync(default)).Unreadable.Select(u => u.Key));
    }

    [Fact]
    public async Task AMalformedConfigIsReportedNotThrownAndApplyReplacesIt()
    {
        var store = Store();
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/config", "42");
        var snapshot = await store.SnapshotAsync(default);
        Assert.Null(snapshot.Config);
        Assert.Contains("not a flannel network config", snapshot.ConfigProblem, StringComparison.Ordinal);
        await store.EnsureConfigAsync(Config, default);
        Assert.Equal(Config, (await store.SnapshotAsync(default)).Config);
    }

    public void Dispose() => _client.Dispose();
}
