using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>host-gw and directRouting on real namespaces, and switching backends and the VNI on a live lab.</summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class BackendsOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task HostGwCarriesTrafficAndSwitchingToVxlanAndBackLeavesNoTrace()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, backend: "host-gw", underlay: "198.18.211.0/24");
        await lab.RunAsync("lab", "up");
        var pristine = lab.HostNames.ToDictionary(h => h, h => Snapshot(lab, h));

        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        Assert.DoesNotContain("flannel.1", lab.InHost("n1", "ip", "link"), StringComparison.Ordinal);

        lab.Backend = "vxlan";
        lab.WriteSpec();
        var toVxlan = await lab.RunAsync("apply");
        Assert.True(toVxlan.ExitCode == 0, toVxlan.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        Assert.DoesNotContain(" via 198.18.211.", lab.InHost("n1", "ip", "route", "show", "proto", "211"), StringComparison.Ordinal);

        // A VNI change: status shows the old device as drift, apply replaces it, nothing of it is left.
        lab.ExtraNetwork = "  vni: 2";
        lab.WriteSpec();
        var drift = await lab.RunAsync("status", "-o", "json");
        Assert.True(drift.ExitCode == 2, drift.ToString());
        Assert.Contains("- link flannel.1", drift.Stdout, StringComparison.Ordinal);
        var toVni2 = await lab.RunAsync("apply");
        Assert.True(toVni2.ExitCode == 0, toVni2.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        var links = lab.InHost("n1", "ip", "-d", "link", "show", "type", "vxlan");
        Assert.DoesNotContain("flannel.1", links, StringComparison.Ordinal);
        Assert.Contains("flannel.2", links, StringComparison.Ordinal);
        Assert.Contains("alias overlayctl", links, StringComparison.Ordinal);

        lab.ExtraNetwork = "  vni: 2\n  directRouting: true";
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Contains(" via 198.18.211.", lab.InHost("n1", "ip", "route", "show", "proto", "211"), StringComparison.Ordinal);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);

        lab.Backend = "host-gw";
        lab.ExtraNetwork = "";
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        // The spec's VNI is back to 1, so flannel.2 is both the old backend's device and a VNI's leftover: gone.
        Assert.DoesNotContain("flannel.", lab.InHost("n1", "ip", "link"), StringComparison.Ordinal);

        lab.RemoveContainers();
        Assert.Equal(0, (await lab.RunAsync("destroy", "--auto-approve", "--release-leases")).ExitCode);
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], Snapshot(lab, h));
    }

    internal static string Snapshot(LabCluster lab, string host) =>
        string.Join("\n",
            lab.InHost(host, "ip", "-br", "link"),
            lab.InHost(host, "ip", "-br", "addr"),
            lab.InHost(host, "ip", "route"),
            lab.InHost(host, "iptables", "-S"),
            lab.InHost(host, "iptables", "-t", "nat", "-S"));
}
