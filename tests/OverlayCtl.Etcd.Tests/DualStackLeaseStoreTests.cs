using System.Net;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Testing;

namespace OverlayCtl.Etcd.Tests;

/// <summary>Dual-stack leases against a real etcd: both families in one transaction, in flannel's key form, stable.</summary>
[Collection(EtcdCollection.Name)]
public sealed class DualStackLeaseStoreTests(EtcdFixture etcd)
{
    private static readonly NetworkConfig V4 = new(
        Ipv4Cidr.Parse("10.244.0.0/16"), 24, Ipv4Address.Parse("10.244.1.0"), Ipv4Address.Parse("10.244.255.0"), "vxlan", 1, 8472);

    private static readonly NetworkConfig Dual = V4 with
    {
        Ipv6 = new Ipv6NetworkConfig(Ipv6.Parse("fd00:10:244::/48"), 64, IPAddress.Parse("fd00:10:244:1::"), IPAddress.Parse("fd00:10:244:ffff::")),
    };

    private readonly EtcdGrpcClient _client = new(new EtcdClientOptions(etcd.Cluster.ClientUrls));
    private readonly string _prefix = EtcdFixture.UniquePrefix();

    private EtcdLeaseStore Store() => new(_client, _prefix);

    private static LeaseRequest Request(int n, string? pin6 = null, bool dual = true)
    {
        var request = new LeaseRequest(Ipv4Address.Parse($"198.18.150.{n}"), null, "vxlan", 1, MacAddress.Parse($"0a:00:00:00:00:{n:x2}"), $"h{n}");
        return dual ? request with { PublicIpv6 = IPAddress.Parse($"fd00:198:18:150::{n}"), VtepMac6 = MacAddress.Parse($"0a:00:00:00:06:{n:x2}"), PinnedSubnet6 = pin6 is null ? null : Ipv6.Parse(pin6) } : request;
    }

    private string[] Keys() => etcd.Cluster.Etcdctl(null, "get", "--prefix", "--keys-only", $"{_prefix}/subnets/").Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task BothFamiliesAreLeasedInFlannelsKeyFormAndStayOnReapply()
    {
        var store = Store();
        await store.EnsureConfigAsync(Dual, default);
        Assert.Contains("\"IPv6Network\":\"fd00:10:244::/48\"", etcd.Cluster.Etcdctl(null, "get", "--print-value-only", $"{_prefix}/config"), StringComparison.Ordinal);
        var first = await store.AcquireAsync(Dual, [Request(1), Request(2, pin6: "fd00:10:244:9::/64")], default);
        Assert.Equal(["10.244.1.0/24 fd00:10:244:1::/64", "10.244.2.0/24 fd00:10:244:9::/64"], first.Select(l => $"{l.Subnet} {l.Subnet6}"));
        Assert.Equal([$"{_prefix}/subnets/10.244.1.0-24&fd00:10:244:1::-64", $"{_prefix}/subnets/10.244.2.0-24&fd00:10:244:9::-64"], Keys());
        var value = etcd.Cluster.Etcdctl(null, "get", "--print-value-only", $"{_prefix}/subnets/10.244.1.0-24&fd00:10:244:1::-64").Trim();
        Assert.Equal("""{"PublicIP":"198.18.150.1","PublicIPv6":"fd00:198:18:150::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"},"BackendV6Data":{"VNI":1,"VtepMAC":"0a:00:00:00:06:01"}}""", value);

        var revision = (await store.SnapshotAsync(default)).Revision;
        var again = await store.AcquireAsync(Dual, [Request(2, pin6: "fd00:10:244:9::/64"), Request(1)], default);
        Assert.Equal(first.Reverse(), again.Select(l => l with { ModRevision = 0 }));
        Assert.Equal(revision, (await store.SnapshotAsync(default)).Revision);
    }

    [Fact]
    public async Task TurningIPv6OnAndOffMovesEachKeyInOneTransactionKeepingTheIPv4Subnet()
    {
        var store = Store();
        await store.EnsureConfigAsync(V4, default);
        var v4 = await store.AcquireAsync(V4, [Request(1, dual: false), Request(2, dual: false)], default);
        Assert.All(v4, l => Assert.Null(l.Subnet6));

        await store.EnsureConfigAsync(Dual, default);
        var dual = await store.AcquireAsync(Dual, [Request(1), Request(2)], default);
        Assert.Equal(v4.Select(l => l.Subnet), dual.Select(l => l.Subnet));
        Assert.Equal(["fd00:10:244:1::/64", "fd00:10:244:2::/64"], dual.Select(l => l.Subnet6.ToString()));
        Assert.Equal(2, Keys().Length);
        Assert.All(Keys(), k => Assert.Contains("&fd00:10:244:", k, StringComparison.Ordinal));
        // The claims follow the keys: a third acquire changes nothing.
        var revision = (await store.SnapshotAsync(default)).Revision;
        await store.AcquireAsync(Dual, [Request(1), Request(2)], default);
        Assert.Equal(revision, (await store.SnapshotAsync(default)).Revision);

        await store.EnsureConfigAsync(V4, default);
        var back = await store.AcquireAsync(V4, [Request(1, dual: false), Request(2, dual: false)], default);
        Assert.Equal(v4, back.Select(l => l with { ModRevision = 0 }));
        Assert.Equal([$"{_prefix}/subnets/10.244.1.0-24", $"{_prefix}/subnets/10.244.2.0-24"], Keys());
    }

    [Fact]
    public async Task AFlannelDualStackLeaseKeepsBothItsSubnetsFromEveryoneElse()
    {
        var store = Store();
        await store.EnsureConfigAsync(Dual, default);
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.244.1.0-24&fd00:10:244:1::-64",
            """{"PublicIP":"198.18.150.50","PublicIPv6":"fd00:198:18:150::50","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"},"BackendV6Data":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:45"}}""");
        etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/fd00:10:244:2::-64", """{"PublicIPv6":"fd00:198:18:150::51","BackendType":"vxlan"}""");
        var snapshot = await store.SnapshotAsync(default);
        var flannel = Assert.Single(snapshot.Leases);
        Assert.Equal(("fd00:198:18:150::50", "c6:d2:32:6f:8f:45"), (flannel.PublicIpv6?.ToString(), flannel.VtepMac6?.Text));
        Assert.Equal("fd00:10:244:2::/64", Assert.Single(snapshot.Unreadable).Subnet6.ToString());

        var ours = (await store.AcquireAsync(Dual, [Request(1)], default))[0];
        Assert.Equal(("10.244.2.0/24", "fd00:10:244:3::/64"), (ours.Subnet.ToString(), ours.Subnet6.ToString()));
        var pinned = await Assert.ThrowsAsync<LeaseException>(() => store.AcquireAsync(Dual, [Request(2, pin6: "fd00:10:244:1::/64")], default));
        Assert.Contains("pinned subnet6 fd00:10:244:1::/64 is held by 198.18.150.50", pinned.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MovingTheIPv6NetworkUnderDualStackLeasesIsRefused()
    {
        var store = Store();
        await store.EnsureConfigAsync(Dual, default);
        await store.AcquireAsync(Dual, [Request(1)], default);
        var moved = Dual with { Ipv6 = Dual.Ipv6! with { Network = Ipv6.Parse("fd00:10:245::/48"), SubnetMin = IPAddress.Parse("fd00:10:245:1::"), SubnetMax = IPAddress.Parse("fd00:10:245:ffff::") } };
        var e = await Assert.ThrowsAsync<LeaseException>(() => store.EnsureConfigAsync(moved, default));
        Assert.Contains("would strand those hosts' IPv6 subnets", e.Message, StringComparison.Ordinal);
        await store.EnsureConfigAsync(V4, default);
    }
}
