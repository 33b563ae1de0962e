using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>Dual-stack on real namespaces: 3 hosts with IPv4 and IPv6 underlay addresses, vxlan and host-gw, switched live.</summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class DualStackOnLabTests(EtcdFixture etcd)
{
    private const string Ipv6 = "  ipv6: { cidr: \"fd00:10:244::/48\" }";

    [Fact]
    public async Task ALiveLabGoesFromIPv4ToDualStackOnVxlanAndHostGwAndBackAndDestroyLeavesNothing()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.150.0/24", namespacePrefix: "ds-")
        {
            Underlay6 = "fd00:198:18:150::",
        };
        lab.WriteSpec();
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        var pristine = lab.HostNames.ToDictionary(h => h, h => Snapshot(lab, h));

        // IPv4 only first (address6 named, unused).
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        ApplyOnLabTests.AssertFullMesh(lab, containers);

        // Dual-stack on vxlan: every container reaches every other over both families; a re-plan is empty.
        lab.ExtraNetwork = Ipv6;
        lab.WriteSpec();
        var dual = await lab.RunAsync("apply");
        Assert.True(dual.ExitCode == 0, dual.ToString());
        var containers6 = await AttachContainers6(lab);
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        AssertFullMesh6(lab, containers6);
        var plan = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        await Ok(lab, "status");
        await Ok(lab, "doctor");
        // verify probes both families: small and full-size echoes and TCP, over IPv6 at the IPv6 path's MTU (1430 here).
        var verify = await lab.RunAsync("verify", "-o", "json");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var pairs = verify.Json().GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(6, pairs.Count);
        Assert.All(pairs, p =>
        {
            var v6 = p.GetProperty("ipv6");
            Assert.True(v6.GetProperty("ok").GetBoolean() && v6.GetProperty("fullSize").GetBoolean(), p.ToString());
            Assert.Equal(1430, v6.GetProperty("mtu").GetInt32());
            Assert.StartsWith("fd00:10:244:", v6.GetProperty("target").GetString(), StringComparison.Ordinal);
            Assert.Equal(3 * 1430, v6.GetProperty("tcp").GetProperty("received").GetInt32());
        });
        // Doctor reads the IPv6 half too: IPv6 forwarding off on n2 is named; verify sees the IPv6 half broken there.
        lab.InHost("n2", "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0");
        var doctor = await lab.RunAsync("doctor", "-o", "json");
        Assert.NotEqual(0, doctor.ExitCode);
        Assert.Contains("net.ipv6.conf.all.forwarding is 0", doctor.Stdout, StringComparison.Ordinal);
        var broken = await lab.RunAsync("verify", "-o", "json");
        Assert.True(broken.ExitCode != 0, broken.ToString());
        var n1n2 = broken.Json().GetProperty("pairs").EnumerateArray().Single(p => p.GetProperty("from").GetString() == "n1" && p.GetProperty("to").GetString() == "n2");
        Assert.False(n1n2.GetProperty("ipv6").GetProperty("icmp").GetBoolean());
        Assert.True(n1n2.GetProperty("icmp").GetBoolean());
        Assert.Contains(n1n2.GetProperty("causes").EnumerateArray(), c => c.GetString()!.StartsWith("IPv6: no echo from", StringComparison.Ordinal));
        await Ok(lab, "apply");
        await Ok(lab, "doctor");
        // doctor's peers check covers flannel-v6: n2's IPv6 route deleted on n1 is named.
        var n2Subnet6 = containers6["n2"][..^1] + "/64";
        lab.InHost("n1", "ip", "-6", "route", "del", n2Subnet6);
        var missing = await lab.RunAsync("doctor", "-o", "json");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains($"no route to {n2Subnet6} via flannel-v6.1", missing.Stdout, StringComparison.Ordinal);
        await Ok(lab, "apply");
        var links = lab.InHost("n1", "ip", "-d", "link", "show", "flannel-v6.1");
        Assert.Contains("mtu 1430", links, StringComparison.Ordinal);
        Assert.Contains("local fd00:198:18:150::11", links, StringComparison.Ordinal);
        Assert.Contains("-A OVERLAYCTL-POSTRTG -s fd00:10:244::/48 ! -d ff00::/8 -j MASQUERADE --random-fully", lab.InHost("n1", "ip6tables", "-t", "nat", "-S"), StringComparison.Ordinal);
        Assert.Contains("FLANNEL_IPV6_NETWORK=fd00:10:244::/48", File.ReadAllText(Path.Combine(lab.Dir, "n1", "subnet.env")), StringComparison.Ordinal);
        Assert.Contains("\"fixed-cidr-v6\": \"fd00:10:244:", File.ReadAllText(Path.Combine(lab.Dir, "n1", "daemon.json")), StringComparison.Ordinal);

        // host-gw: IPv6 routes via each peer's address6.
        lab.Backend = "host-gw";
        lab.WriteSpec();
        var hostGw = await lab.RunAsync("apply");
        Assert.True(hostGw.ExitCode == 0, hostGw.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        AssertFullMesh6(lab, containers6);
        await Ok(lab, "plan", "--detailed-exitcode");
        Assert.Contains("via fd00:198:18:150::12 dev eth0 proto 211", lab.InHost("n1", "ip", "-6", "route"), StringComparison.Ordinal);
        Assert.DoesNotContain("flannel-v6.1", lab.InHost("n1", "ip", "link"), StringComparison.Ordinal);

        // Back to vxlan, then to IPv4 only, the hosts' address6 gone too (the marks dual-stack left have their IPv6
        // tables read): IPv4 still carries, and nothing of IPv6 is left.
        lab.Backend = "vxlan";
        lab.WriteSpec();
        await Ok(lab, "apply");
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        AssertFullMesh6(lab, containers6);
        lab.ExtraNetwork = "";
        var underlay6 = lab.Underlay6;
        lab.Underlay6 = null;
        lab.WriteSpec();
        var back = await lab.RunAsync("apply");
        Assert.True(back.ExitCode == 0, back.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        await Ok(lab, "plan", "--detailed-exitcode");
        Assert.DoesNotContain("flannel-v6", lab.InHost("n1", "ip", "link"), StringComparison.Ordinal);
        Assert.DoesNotContain("proto 211", lab.InHost("n1", "ip", "-6", "route"), StringComparison.Ordinal);
        Assert.DoesNotContain("OVERLAYCTL", lab.InHost("n1", "ip6tables-save"), StringComparison.Ordinal);
        Assert.DoesNotContain("fixed-cidr-v6", File.ReadAllText(Path.Combine(lab.Dir, "n1", "daemon.json")), StringComparison.Ordinal);
        Assert.DoesNotContain("inet6 fd00:10:244:", lab.InHost("n1", "ip", "-6", "addr", "show", "docker0"), StringComparison.Ordinal);
        lab.Underlay6 = underlay6;

        // Dual-stack once more, then destroy: every host as lab up made it, ip -6 routes and ip6tables included.
        lab.ExtraNetwork = Ipv6;
        lab.WriteSpec();
        await Ok(lab, "apply");
        AssertFullMesh6(lab, containers6);
        lab.RemoveContainers();
        var destroy = await lab.RunAsync("destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], Snapshot(lab, h));
    }

    private static async Task Ok(LabCluster lab, params string[] args)
    {
        var run = await lab.RunAsync(args);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    /// <summary>Each host's container gets an address of the host's IPv6 subnet, as leases list says it.</summary>
    internal static async Task<Dictionary<string, string>> AttachContainers6(LabCluster lab)
    {
        var list = await lab.RunAsync("leases", "list", "-o", "json");
        Assert.True(list.ExitCode == 0, list.ToString());
        return list.Json().GetProperty("leases").EnumerateArray()
            .ToDictionary(l => l.GetProperty("host").GetString()!, l => lab.AddContainer6(l.GetProperty("host").GetString()!, l.GetProperty("subnet6").GetString()!));
    }

    internal static void AssertFullMesh6(LabCluster lab, Dictionary<string, string> containers)
    {
        var broken = new List<string>();
        foreach (var from in containers.Keys)
            foreach (var (to, address) in containers)
                // A second echo for a pair whose first was lost: a fresh IPv6 path resolves up to three neighbours (the
                // container's gateway, the peer's underlay or VTEP, the peer's container) before it carries, which a
                // loaded machine once took longer than one echo's 2 s for.
                if (from != to && !lab.Ping6(from, address) && !lab.Ping6(from, address)) broken.Add($"{from}->{to} ({address})");
        Assert.True(broken.Count == 0, "no IPv6 ping: " + string.Join(", ", broken));
    }

    internal static string Snapshot(LabCluster lab, string host) =>
        string.Join("\n",
            BackendsOnLabTests.Snapshot(lab, host),
            lab.InHost(host, "ip", "-6", "route"),
            lab.InHost(host, "ip6tables", "-S"),
            lab.InHost(host, "ip6tables", "-t", "nat", "-S"));
}
