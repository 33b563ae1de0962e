using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>The leases commands against a real etcd that also holds what flannel (or a mistake) put there.</summary>
[Collection(EtcdCollection.Name)]
public sealed class LeasesOnEtcdTests : IDisposable
{
    private readonly EtcdFixture _etcd;
    private readonly string _dir = Directory.CreateTempSubdirectory("overlayctl-leases-").FullName;
    private readonly string _prefix = EtcdFixture.UniquePrefix();
    private readonly string _spec;

    public LeasesOnEtcdTests(EtcdFixture etcd)
    {
        _etcd = etcd;
        _spec = Path.Combine(_dir, "cluster.yaml");
        File.WriteAllText(_spec, $"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: leases
            etcd:
              endpoints: [{etcd.Cluster.ClientUrl}]
              prefix: {_prefix}
            network:
              cidr: 10.212.0.0/16
            hosts:
              - name: n1
                address: 198.18.0.11
              - name: n2
                address: 198.18.0.12
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<CliResult> Run(params string[] args) => CliRun.RunAsync([.. args, "-f", _spec]);

    [Fact]
    public async Task AFlannelDualStackLeaseIsListedAndItsSubnetIsNeverAllocatedAgain()
    {
        _etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.212.1.0-24&fd00:10:212:1::-64",
            """{"PublicIP":"198.18.0.50","PublicIPv6":"fd00::50","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}""");
        var allocate = await Run("leases", "allocate", "-o", "json");
        Assert.True(allocate.ExitCode == 0, allocate.ToString());
        var subnets = allocate.Json().GetProperty("leases").EnumerateArray().Select(l => (l.GetProperty("subnet").GetString(), l.GetProperty("publicIp").GetString())).ToList();
        Assert.Equal([("10.212.1.0/24", "198.18.0.50"), ("10.212.2.0/24", "198.18.0.11"), ("10.212.3.0/24", "198.18.0.12")], subnets);
        Assert.Equal(3, _etcd.Cluster.Etcdctl(null, "get", "--prefix", "--keys-only", $"{_prefix}/subnets/").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task ADualStackSpecLeasesBothFamiliesAndListShowsTheIPv6Subnets()
    {
        var dual = Path.Combine(_dir, "dual.yaml");
        File.WriteAllText(dual, File.ReadAllText(_spec)
            .Replace("  cidr: 10.212.0.0/16\n", "  cidr: 10.212.0.0/16\n  ipv6: { cidr: \"fd00:10:212::/48\" }\n", StringComparison.Ordinal)
            .Replace("address: 198.18.0.11\n", "address: 198.18.0.11\n    address6: \"fd00:198:18:150::11\"\n", StringComparison.Ordinal)
            .Replace("address: 198.18.0.12", "address: 198.18.0.12\n    address6: \"fd00:198:18:150::12\"\n    subnet6: \"fd00:10:212:9::/64\"", StringComparison.Ordinal));
        _etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.212.1.0-24&fd00:10:212:1::-64",
            """{"PublicIP":"198.18.0.50","PublicIPv6":"fd00::50","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"},"BackendV6Data":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:45"}}""");
        var allocate = await CliRun.RunAsync(["leases", "allocate", "-o", "json", "-f", dual]);
        Assert.True(allocate.ExitCode == 0, allocate.ToString());
        var leases = allocate.Json().GetProperty("leases").EnumerateArray()
            .Select(l => $"{l.GetProperty("subnet").GetString()} {l.GetProperty("subnet6").GetString()} {l.GetProperty("publicIpv6").GetString()}").ToList();
        Assert.Equal(["10.212.1.0/24 fd00:10:212:1::/64 fd00::50", "10.212.2.0/24 fd00:10:212:2::/64 fd00:198:18:150::11", "10.212.3.0/24 fd00:10:212:9::/64 fd00:198:18:150::12"], leases);
        Assert.Contains($"{_prefix}/subnets/10.212.3.0-24&fd00:10:212:9::-64", _etcd.Cluster.Etcdctl(null, "get", "--prefix", "--keys-only", $"{_prefix}/subnets/"), StringComparison.Ordinal);

        var list = await CliRun.RunAsync(["leases", "list", "-f", dual]);
        Assert.True(list.ExitCode == 0, list.ToString());
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("SUBNET         SUBNET6             PUBLIC IP    PUBLIC IPV6", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^10\.212\.2\.0/24 +fd00:10:212:2::/64 +198\.18\.0\.11 +fd00:198:18:150::11 +vxlan +\S+ +n1$", lines[2]);

        // Back to IPv4 only: the spec hosts give their IPv6 subnets back; flannel's lease keeps its own.
        var back = await Run("leases", "allocate", "-o", "json");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Equal([true, false, false], back.Json().GetProperty("leases").EnumerateArray().Select(l => l.TryGetProperty("subnet6", out _)));
    }

    [Fact]
    public async Task MalformedValuesAreReportedAndGcDeletesThem()
    {
        _etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/config", "42");
        _etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/10.212.9.0-24", "[]");

        var list = await Run("leases", "list", "-o", "json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var unreadable = Assert.Single(list.Json().GetProperty("unreadable").EnumerateArray());
        Assert.Equal("10.212.9.0/24", unreadable.GetProperty("subnet").GetString());
        Assert.Contains("not a flannel network config", list.Stderr, StringComparison.Ordinal);
        Assert.Contains($"{_prefix}/subnets/10.212.9.0-24 is not a lease overlayctl can read", list.Stderr, StringComparison.Ordinal);

        var gc = await Run("leases", "gc", "--yes");
        Assert.True(gc.ExitCode == 0, gc.ToString());
        Assert.Contains("deleted unreadable", gc.Stderr, StringComparison.Ordinal);
        Assert.Empty((await Run("leases", "list", "-o", "json")).Json().GetProperty("unreadable").EnumerateArray());
    }

    [Fact]
    public async Task ReleaseByKeyDeletesAKeyThatNamesNoSubnet()
    {
        _etcd.Cluster.Etcdctl(null, "put", $"{_prefix}/subnets/rubbish", "x");
        var release = await Run("leases", "release", "--key", $"{_prefix}/subnets/rubbish");
        Assert.True(release.ExitCode == 0, release.ToString());
        Assert.Equal("", _etcd.Cluster.Etcdctl(null, "get", "--prefix", "--keys-only", $"{_prefix}/subnets/").Trim());
        Assert.Equal(1, (await Run("leases", "release")).ExitCode);
    }
}
