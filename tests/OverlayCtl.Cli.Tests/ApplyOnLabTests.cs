using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// The whole tool against real etcd and real namespace hosts: apply builds a VXLAN overlay that
/// containers ping across, re-apply is a no-op, hosts join and leave, destroy restores the hosts.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class ApplyOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task ConcurrentAppliesTakeTurnsAndLeaveExactlyOneJumpPerHost()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.9.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);

        // Without --lock-timeout the loser fails at once, naming the winner; nothing it did is half-done.
        var racing = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => lab.RunAsync("apply")));
        Assert.Contains(racing, r => r.ExitCode == 0);
        Assert.All(racing, r => Assert.True(r.ExitCode is 0 or 6, r.ToString()));
        Assert.All(racing.Where(r => r.ExitCode == 6), r => Assert.Contains("the cluster is locked by", r.Stderr, StringComparison.Ordinal));

        // With it, every run waits its turn and succeeds.
        lab.InHost("n1", "iptables", "-F", "FORWARD");
        var waiting = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => lab.RunAsync("apply", "--lock-timeout", "60s")));
        Assert.All(waiting, r => Assert.True(r.ExitCode == 0, r.ToString()));
        foreach (var host in lab.HostNames)
        {
            var forward = lab.InHost(host, "iptables-save", "-t", "filter").Split('\n').Where(l => l.StartsWith("-A FORWARD ", StringComparison.Ordinal));
            Assert.Single(forward, l => l.EndsWith("-j OVERLAYCTL-FWD", StringComparison.Ordinal));
        }
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        Assert.Equal(0, (await lab.RunAsync("unlock")).ExitCode);
    }

    [Fact]
    public async Task ContainersOnThreeHostsPingEachOtherAndASecondApplyChangesNothing()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.210.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);

        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = AttachContainers(lab, apply);

        AssertFullMesh(lab, containers);
        var plan = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        var again = await lab.RunAsync("apply", "-o", "json");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.All(again.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("ok", h.GetProperty("result").GetString()));
    }

    [Fact]
    public async Task AHostThatJoinsIsReachedByAllAndAHostThatLeavesIsForgotten()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.210.0/24");
        await lab.RunAsync("lab", "up");
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);

        lab.HostNames.Add("n4");
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = AttachContainers(lab, apply);
        AssertFullMesh(lab, containers);

        var leaving = containers["n2"];
        var destroy = await lab.RunAsync("destroy", "--auto-approve", "--limit", "n2", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        lab.HostNames.Remove("n2");
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        var leftSubnet = leaving.Subnet;
        foreach (var host in lab.HostNames)
            Assert.DoesNotContain(leftSubnet, lab.InHost(host, "ip", "route", "show"), StringComparison.Ordinal);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
    }

    [Fact]
    public async Task DestroyLeavesTheHostsAsLabUpMadeThem()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.210.0/24");
        await lab.RunAsync("lab", "up");
        var before = lab.HostNames.ToDictionary(h => h, h => Snapshot(lab, h));
        lab.InHost("n1", "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "172.31.0.0/16", "-j", "MASQUERADE");
        lab.InHost("n1", "ip", "route", "add", "198.51.100.0/24", "via", "198.18.210.1", "dev", "eth0", "onlink");
        Directory.CreateDirectory(Path.Combine(lab.Dir, "n1"));
        File.WriteAllText(Path.Combine(lab.Dir, "n1", "daemon.json"), """{ "log-driver": "journald", "storage-driver": "vfs" }""");

        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        var destroy = await lab.RunAsync("destroy", "--auto-approve");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());

        Assert.Equal(before["n2"], Snapshot(lab, "n2"));
        var n1 = Snapshot(lab, "n1");
        Assert.Contains("-A POSTROUTING -s 172.31.0.0/16 -j MASQUERADE", n1, StringComparison.Ordinal);
        Assert.Contains("198.51.100.0/24 via 198.18.210.1", n1, StringComparison.Ordinal);
        var daemon = File.ReadAllText(Path.Combine(lab.Dir, "n1", "daemon.json"));
        Assert.Contains("journald", daemon, StringComparison.Ordinal);
        Assert.DoesNotContain("bip", daemon, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(lab.Dir, "n1", "subnet.env")));
    }

    private static string Snapshot(LabCluster lab, string host) => BackendsOnLabTests.Snapshot(lab, host);

    internal static Dictionary<string, (string Subnet, string Address)> AttachContainers(LabCluster lab, CliResult apply)
    {
        var containers = new Dictionary<string, (string, string)>();
        foreach (var host in apply.Json().GetProperty("hosts").EnumerateArray())
        {
            var name = host.GetProperty("host").GetString()!;
            var subnet = host.GetProperty("subnet").GetString()!;
            containers[name] = (subnet, lab.AddContainer(name, subnet));
        }
        return containers;
    }

    /// <summary>Every container pings every other: one echo each, or up to <paramref name="attempts"/> (2 s apiece).</summary>
    internal static void AssertFullMesh(LabCluster lab, Dictionary<string, (string Subnet, string Address)> containers, int attempts = 1)
    {
        var broken = new List<string>();
        foreach (var from in containers.Keys)
            foreach (var (to, target) in containers)
                if (from != to && !Enumerable.Range(0, attempts).Any(_ => lab.Ping(from, target.Address))) broken.Add($"{from}->{to} ({target.Address})");
        Assert.True(broken.Count == 0, "no ping: " + string.Join(", ", broken));
    }
}
