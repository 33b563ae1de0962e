using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// directRouting on a dual-stack vxlan lab: 3 hosts on one IPv4 /24 and one IPv6 /64, so every peer is on-link in
/// both families and gets plain routes via its underlay addresses, as flannel's vxlan backend gives them.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class DirectRouting6OnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task OnLinkIPv6PeersAreRoutedDirectlyWithNoFlannelV6EntriesAndDestroyLeavesNothing()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.190.0/24", namespacePrefix: "dr6-")
        {
            Underlay6 = "fd00:198:18:190::",
            Cidr = "10.190.0.0/16",
            ExtraNetwork = "  directRouting: true\n  ipv6: { cidr: \"fd00:10:190::/48\" }",
        };
        lab.WriteSpec();
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        var pristine = lab.HostNames.ToDictionary(h => h, h => DualStackOnLabTests.Snapshot(lab, h));

        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        var containers6 = await DualStackOnLabTests.AttachContainers6(lab);
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        DualStackOnLabTests.AssertFullMesh6(lab, containers6);

        // Direct: each peer's IPv6 subnet via its address6 on eth0; flannel-v6.1 exists but holds no peer entry.
        foreach (var host in lab.HostNames)
        {
            var routes6 = lab.InHost(host, "ip", "-6", "route", "show", "proto", "211");
            foreach (var peer in lab.HostNames.Where(p => p != host))
            {
                var subnet6 = containers6[peer][..^1] + "/64";
                Assert.Contains($"{subnet6} via {lab.Address6(peer)} dev eth0", routes6, StringComparison.Ordinal);
            }
            Assert.DoesNotContain("flannel-v6.1", routes6, StringComparison.Ordinal);
            Assert.Contains("flannel-v6.1", lab.InHost(host, "ip", "link"), StringComparison.Ordinal);
            Assert.DoesNotContain("dst", lab.InHost(host, "bridge", "fdb", "show", "dev", "flannel-v6.1"), StringComparison.Ordinal);
            Assert.Equal("", lab.InHost(host, "ip", "-6", "neigh", "show", "dev", "flannel-v6.1", "nud", "permanent").Trim());
        }
        var plan = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        // status shows flannel-v6.1 beside flannel.1: up on every host.
        var status = await lab.RunAsync("status", "-o", "json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.All(status.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal(("up", "up"), (h.GetProperty("device").GetString(), h.GetProperty("device6").GetString())));
        var table = await lab.RunAsync("status");
        Assert.Contains("DEVICE6", table.Stdout, StringComparison.Ordinal);

        lab.RemoveContainers();
        var destroy = await lab.RunAsync("destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], DualStackOnLabTests.Snapshot(lab, h));
    }
}
