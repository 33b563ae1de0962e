using System.Text.Json;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// What an operator bets on, on a namespace lab: plan refuses what apply would refuse, a saved plan is
/// applied exactly or not at all, status says unknown for a host nobody looked at, and a spec's offload
/// choice is enforced.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class PlanTrustOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task PlanAndApplyRefuseANetworkChangeUnderLeasesAndAnAddressTypoAtTheirLines()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.60.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        var leases = (await lab.RunAsync("leases", "list", "-o", "json")).Stdout;
        var routes = lab.InHost("n1", "ip", "route", "show", "proto", "211");
        var spec = File.ReadAllText(lab.SpecPath);

        File.WriteAllText(lab.SpecPath, spec.Replace("cidr: 10.244.0.0/16", "cidr: 10.245.0.0/16", StringComparison.Ordinal));
        var line = LineOf(lab.SpecPath, "cidr:");
        foreach (var command in new[] { "plan", "apply" })
        {
            var refused = await lab.RunAsync(command);
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains($"{lab.SpecPath}:{line}:", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains("which would strand those hosts", refused.Stderr, StringComparison.Ordinal);
        }

        File.WriteAllText(lab.SpecPath, spec.Replace("address: 198.18.60.12", "address: 198.18.60.52", StringComparison.Ordinal));
        line = LineOf(lab.SpecPath, "address: 198.18.60.52");
        foreach (var command in new[] { "plan", "apply" })
        {
            var refused = await lab.RunAsync(command);
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Contains($"{lab.SpecPath}:{line}:", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains("host n2 does not hold its address 198.18.60.52 (it holds 198.18.60.12 on eth0)", refused.Stderr, StringComparison.Ordinal);
        }

        // Nothing moved: the same leases, the same routes.
        File.WriteAllText(lab.SpecPath, spec);
        Assert.Equal(leases, (await lab.RunAsync("leases", "list", "-o", "json")).Stdout);
        Assert.Equal(routes, lab.InHost("n1", "ip", "route", "show", "proto", "211"));
    }

    [Fact]
    public async Task ASavedPlanIsAppliedExactlyAndAStaleOneChangesNothing()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.61.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var file = Path.Combine(lab.Dir, "first.plan");
        var plan = await lab.RunAsync("plan", "-out", file, "-o", "json");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        // -o json prints the document -out saves.
        Assert.Equal(JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("hosts").ToString(), plan.Json().GetProperty("hosts").ToString());
        Assert.Equal("overlayctl-plan/v1", plan.Json().GetProperty("format").GetString());
        Assert.Equal("600", Sh.Must("stat", "-c", "%a", file).Trim());

        var applied = await lab.RunAsync("apply", file);
        Assert.True(applied.ExitCode == 0, applied.ToString());
        var subnets = lab.HostNames.ToDictionary(h => h, h => plan.Json().GetProperty("hosts").EnumerateArray().Single(x => x.GetProperty("host").GetString() == h).GetProperty("subnet").GetString()!);
        var containers = lab.HostNames.ToDictionary(h => h, h => (subnets[h], lab.AddContainer(h, subnets[h])));
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);

        // A host that changed since: refused, exit 7, nothing done.
        lab.InHost("n1", "ip", "link", "set", "flannel.1", "mtu", "1400");
        var second = Path.Combine(lab.Dir, "second.plan");
        Assert.Equal(0, (await lab.RunAsync("plan", "-out", second)).ExitCode);
        lab.InHost("n2", "ip", "route", "add", "192.168.77.0/24", "dev", "eth0");
        var stale = await lab.RunAsync("apply", second);
        Assert.True(stale.ExitCode == 7, stale.ToString());
        Assert.Contains("n2 changed since the plan", stale.Stderr, StringComparison.Ordinal);
        Assert.Contains("mtu 1400", lab.InHost("n1", "ip", "link", "show", "flannel.1"), StringComparison.Ordinal);

        // etcd that changed since: the same.
        var third = Path.Combine(lab.Dir, "third.plan");
        Assert.Equal(0, (await lab.RunAsync("plan", "-out", third)).ExitCode);
        Sh.Must("etcdctl", "--endpoints", etcd.Cluster.Endpoints, "put", $"/e2e/{lab.Id}/network/subnets/10.244.200.0-24",
            """{"PublicIP":"198.18.61.99","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:99"}}""");
        stale = await lab.RunAsync("apply", third);
        Assert.True(stale.ExitCode == 7, stale.ToString());
        Assert.Contains("the leases or network config in etcd changed", stale.Stderr, StringComparison.Ordinal);
        Assert.Contains("mtu 1400", lab.InHost("n1", "ip", "link", "show", "flannel.1"), StringComparison.Ordinal);

        // A fresh plan of the same state applies, and shows the MTU it restores.
        var fourth = Path.Combine(lab.Dir, "fourth.plan");
        var shown = await lab.RunAsync("plan", "-out", fourth);
        Assert.Contains("~ link flannel.1 mtu: 1400 → 1450", shown.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, (await lab.RunAsync("apply", fourth)).ExitCode);
        Assert.Contains("mtu 1450", lab.InHost("n1", "ip", "link", "show", "flannel.1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusSaysUnknownForAHostItCouldNotObserveAndDriftForAMissingJump()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.62.0/24",
            extraNetwork: "  vxlan:\n    txChecksumOffload: false");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        // The spec's offload choice is enforced, and a converged lab gives doctor nothing to say.
        Assert.Contains("tx-checksum-ip-generic: off", lab.InHost("n1", "ethtool", "-k", "flannel.1"), StringComparison.Ordinal);
        var doctor = await lab.RunAsync("doctor", "-o", "json");
        Assert.True(doctor.ExitCode == 0 && doctor.Json().GetProperty("findings").GetArrayLength() == 0, doctor.ToString());
        Assert.Equal(0, (await lab.RunAsync("status")).ExitCode);

        lab.InHost("n1", "iptables", "-D", "FORWARD", "-m", "comment", "--comment", "overlayctl", "-j", "OVERLAYCTL-FWD");
        lab.InHost("n2", "ethtool", "-K", "flannel.1", "tx-checksum-ip-generic", "on");
        Sh.Must("ip", "netns", "del", lab.Netns("n3"));
        var status = await lab.RunAsync("status", "-o", "json");
        Assert.True(status.ExitCode == 4, status.ToString());
        var rows = status.Json().GetProperty("hosts").EnumerateArray().ToDictionary(h => h.GetProperty("host").GetString()!);
        Assert.Equal(("drift", "drift"), (rows["n1"].GetProperty("iptables").GetString(), rows["n1"].GetProperty("state").GetString()));
        Assert.Contains("~ link flannel.1 tx-checksum-offload", rows["n2"].GetProperty("changes").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(("unknown", "unknown", "unknown"),
            (rows["n3"].GetProperty("iptables").GetString(), rows["n3"].GetProperty("files").GetString(), rows["n3"].GetProperty("state").GetString()));
        Assert.Equal(JsonValueKind.Null, rows["n3"].GetProperty("drift").ValueKind);
        Assert.Contains("n3", rows["n3"].GetProperty("error").GetString(), StringComparison.Ordinal);
        var table = await lab.RunAsync("status");
        Assert.Contains("unknown", table.Stdout.Split('\n').Single(l => l.StartsWith("n3", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    private static int LineOf(string path, string text) => File.ReadAllLines(path).ToList().FindIndex(l => l.Contains(text, StringComparison.Ordinal)) + 1;
}
