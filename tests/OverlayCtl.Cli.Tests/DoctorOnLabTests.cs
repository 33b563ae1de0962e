using System.Text.Json;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// doctor, verify, status and leases gc on a lab broken on purpose, one way per check: each problem
/// is named with its fix, verify names the broken pairs, and apply heals what is overlayctl's to heal.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class DoctorOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task EveryWayOfBreakingAHostIsNamedByDoctorAndVerify()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.212.0/24");
        await lab.RunAsync("lab", "up");
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        // A freshly applied lab: doctor has nothing to say (a warning that fires everywhere teaches people to ignore it).
        var healthy = await lab.RunAsync("doctor", "-o", "json");
        Assert.True(healthy.ExitCode == 0, healthy.ToString());
        Assert.Empty(Findings(healthy));
        Assert.Equal(0, (await lab.RunAsync("verify")).ExitCode);
        Assert.Equal(0, (await lab.RunAsync("status")).ExitCode);

        // node1: a DROP ahead of our rules, forwarding off, strict rp_filter, Docker's masquerade.
        lab.InHost("n1", "iptables", "-I", "FORWARD", "1", "-s", "10.244.0.0/16", "-j", "DROP");
        lab.InHost("n1", "sysctl", "-qw", "net.ipv4.ip_forward=0");
        lab.InHost("n1", "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1");
        var n1Subnet = Subnet(await lab.RunAsync("leases", "list", "-o", "json"), "n1");
        lab.InHost("n1", "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", n1Subnet, "!", "-o", "docker0", "-j", "MASQUERADE");
        // node2: VXLAN port dropped, Docker told the wrong bip and MTU, our FORWARD jump twice (as racing applies left it).
        lab.InHost("n2", "iptables", "-A", "INPUT", "-p", "udp", "--dport", "8472", "-j", "DROP");
        lab.InHost("n2", "iptables", "-I", "FORWARD", "1", "-m", "comment", "--comment", "overlayctl", "-j", "OVERLAYCTL-FWD");
        lab.InHost("n2", "ip", "link", "set", "docker0", "down");
        var daemon = Path.Combine(lab.Dir, "n2", "daemon.json");
        File.WriteAllText(daemon, """{ "bip": "10.244.250.1/24", "mtu": 1500, "ip-masq": false }""");
        // node3: VTEP MAC changed under us (peers' fdb now stale), underlay address gone.
        lab.InHost("n3", "ip", "link", "set", "flannel.1", "address", "02:de:ad:be:ef:01");
        lab.InHost("n3", "ip", "addr", "flush", "dev", "eth0");
        // A lease held by a host that is not in the spec.
        Sh.Must("etcdctl", "--endpoints", etcd.Cluster.Endpoints, "put", $"/e2e/{lab.Id}/network/subnets/10.244.200.0-24",
            """{"PublicIP":"198.18.212.99","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:99"}}""");

        var doctor = await lab.RunAsync("doctor", "-o", "json");
        Assert.True(doctor.ExitCode == 5, doctor.ToString());
        var found = Findings(doctor);
        foreach (var expected in new[]
        {
            ("n1", "forward-policy"), ("n1", "ip-forward"), ("n1", "rp-filter"), ("n1", "docker-masquerade"),
            ("n2", "vxlan-port"), ("n2", "docker-bip"), ("n2", "mtu"), ("n2", "docker-bridge"),
            ("n3", "vtep-mac"), ("n3", "underlay"), ("n1", "peers"), ("-", "leases"),
        })
            Assert.Contains(expected, found);
        Assert.All(doctor.Json().GetProperty("findings").EnumerateArray(), f => Assert.False(string.IsNullOrEmpty(f.GetProperty("fix").GetString())));

        var verify = await lab.RunAsync("verify", "-o", "json");
        Assert.Equal(5, verify.ExitCode);
        var broken = verify.Json().GetProperty("pairs").EnumerateArray().Where(p => !p.GetProperty("ok").GetBoolean())
            .Select(p => $"{p.GetProperty("from").GetString()}->{p.GetProperty("to").GetString()}").ToList();
        // n2's docker bridge is down: verify names it and makes no probe there; n1's and n3's faults break the rest.
        Assert.Contains("docker0 is down", verify.Json().GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("name").GetString() == "n2").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["n1->n3", "n3->n1"], broken);
        Assert.Equal(2, (await lab.RunAsync("status")).ExitCode);

        var gc = await lab.RunAsync("leases", "gc", "--yes", "-o", "json");
        Assert.Equal("198.18.212.99", Assert.Single(gc.Json().GetProperty("leases").EnumerateArray()).GetProperty("publicIp").GetString());
        Assert.Equal(3, (await lab.RunAsync("leases", "list", "-o", "json")).Json().GetProperty("leases").GetArrayLength());

        // apply heals what is overlayctl's; foreign rules stay and doctor still names them.
        lab.InHost("n3", "ip", "addr", "add", lab.Address("n3") + "/24", "dev", "eth0");
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        var after = Findings(await lab.RunAsync("doctor", "-o", "json"));
        Assert.DoesNotContain(("n1", "ip-forward"), after);
        Assert.DoesNotContain(("n2", "docker-bip"), after);
        Assert.DoesNotContain(("n2", "docker-bridge"), after);
        Assert.DoesNotContain(("n3", "vtep-mac"), after);
        Assert.DoesNotContain(after, f => f.Check == "peers");
        // The DROP stays, but apply moved overlayctl's jump back above it; n2 has one jump again.
        Assert.DoesNotContain(("n1", "forward-policy"), after);
        Assert.StartsWith("-A FORWARD -m comment --comment overlayctl -j OVERLAYCTL-FWD\n-A FORWARD -s 10.244.0.0/16 -j DROP",
            ForwardRules(lab, "n1"), StringComparison.Ordinal);
        Assert.Single(ForwardRules(lab, "n2").Split('\n'), r => r.EndsWith("-j OVERLAYCTL-FWD", StringComparison.Ordinal));
        Assert.Contains(("n2", "vxlan-port"), after);
        Assert.True((await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode == 0);
    }

    private static string ForwardRules(LabCluster lab, string host) =>
        string.Join('\n', lab.InHost(host, "iptables-save", "-t", "filter").Split('\n').Where(l => l.StartsWith("-A FORWARD ", StringComparison.Ordinal)));

    private static List<(string Host, string Check)> Findings(CliResult doctor) =>
        doctor.Json().GetProperty("findings").EnumerateArray().Select(f => (f.GetProperty("host").GetString()!, f.GetProperty("check").GetString()!)).ToList();

    private static string Subnet(CliResult leases, string host) =>
        leases.Json().GetProperty("leases").EnumerateArray().Single(l => l.GetProperty("host").GetString() == host).GetProperty("subnet").GetString()!;
}
