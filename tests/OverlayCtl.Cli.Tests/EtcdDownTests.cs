using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>With etcd unreachable, apply stops before touching any host and says why.</summary>
[Trait("Category", "Namespaces")]
public sealed class EtcdDownTests
{
    [Fact]
    public async Task ApplyWithEtcdDownExitsThreeAndChangesNoHost()
    {
        await using var lab = new LabCluster("http://127.0.0.1:1", hosts: 2, underlay: "198.18.213.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var before = BackendsOnLabTests.Snapshot(lab, "n1");

        var apply = await lab.RunAsync("apply");
        Assert.Equal(3, apply.ExitCode);
        Assert.Contains("no etcd endpoint answered", apply.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", apply.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, BackendsOnLabTests.Snapshot(lab, "n1"));
        Assert.False(Directory.Exists(Path.Combine(lab.Dir, "n1")));
    }
}
