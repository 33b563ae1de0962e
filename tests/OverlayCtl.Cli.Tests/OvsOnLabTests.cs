using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// The Open vSwitch backend on real namespace hosts, each with its own OVS (userspace datapath), and
/// switching a live lab vxlan → ovs → host-gw with no trace of the backend left behind.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class OvsOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task SwitchingVxlanToOvsToHostGwKeepsTheMeshAndLeavesNoTrace()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, backend: "vxlan", ovs: true, underlay: "198.18.214.0/24");
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        var pristine = lab.HostNames.ToDictionary(h => h, h => Snapshot(lab, h));

        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        ApplyOnLabTests.AssertFullMesh(lab, containers);

        lab.Backend = "ovs";
        lab.WriteSpec();
        var plan = await lab.RunAsync("plan");
        Assert.Contains("- link flannel.1", plan.Stdout, StringComparison.Ordinal);
        Assert.Contains("+ ovs bridge br-overlay", plan.Stdout, StringComparison.Ordinal);
        var toOvs = await lab.RunAsync("apply");
        Assert.True(toOvs.ExitCode == 0, toOvs.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        var converged = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(converged.ExitCode == 0, converged.ToString());
        foreach (var host in lab.HostNames)
        {
            Assert.DoesNotContain("flannel.1", lab.InHost(host, "ip", "link"), StringComparison.Ordinal);
            var ports = lab.Vsctl(host, "list-ports", "br-overlay").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var peers = lab.HostNames.Where(h => h != host).Select(h => "vx-" + string.Concat(lab.Address(h).Split('.').Select(b => int.Parse(b, System.Globalization.CultureInfo.InvariantCulture).ToString("x2", System.Globalization.CultureInfo.InvariantCulture))));
            Assert.Equal(peers.Order(StringComparer.Ordinal), ports.Order(StringComparer.Ordinal));
            Assert.Equal("true", lab.Vsctl(host, "get", "port", ports.First(p => p.StartsWith("vx-", StringComparison.Ordinal)), "protected").Trim());
        }

        lab.Backend = "host-gw";
        lab.WriteSpec();
        var toHostGw = await lab.RunAsync("apply");
        Assert.True(toHostGw.ExitCode == 0, toHostGw.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        foreach (var host in lab.HostNames)
        {
            Assert.Equal(LabOvsBridges, lab.Vsctl(host, "list-br").Trim());
            Assert.DoesNotContain("br-overlay", lab.InHost(host, "ip", "link"), StringComparison.Ordinal);
        }

        lab.RemoveContainers();
        var destroy = await lab.RunAsync("destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], Snapshot(lab, h));
    }

    [Fact]
    public async Task AnOvsClusterConvergesOnceAndDestroyRemovesItsBridgeAndRoutes()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, backend: "ovs", ovs: true, underlay: "198.18.214.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var pristine = lab.HostNames.ToDictionary(h => h, h => Snapshot(lab, h));
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        var again = await lab.RunAsync("apply", "-o", "json");
        Assert.All(again.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("ok", h.GetProperty("result").GetString()));

        lab.RemoveContainers();
        var destroy = await lab.RunAsync("destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], Snapshot(lab, h));
    }

    /// <summary>What lab up leaves on an OVS lab host: only the bridge holding the underlay address.</summary>
    private const string LabOvsBridges = "br-phy";

    private static string Snapshot(LabCluster lab, string host) =>
        BackendsOnLabTests.Snapshot(lab, host) + "\n" + lab.Vsctl(host, "show").Split('\n').Skip(1).Aggregate("", (a, l) => a + l + "\n");
}
