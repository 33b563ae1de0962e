using System.Diagnostics;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;
using Xunit.Abstractions;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// The wireguard backend on real namespaces with real etcd and wireguard-go (this kernel has no WireGuard, so
/// <c>implementation: auto</c> falls back to it): traffic, a converged re-plan, destroy, and the private key
/// kept on its host.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class WireGuardOnLabTests(EtcdFixture etcd, ITestOutputHelper output)
{
    [Fact]
    public async Task ThreeHostsReachEachOtherOverWireGuardAndThePrivateKeysNeverLeaveTheirHosts()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, backend: "wireguard",
            underlay: "198.18.120.0/24", namespacePrefix: "wg-", privateRun: true);
        lab.ExtraNetwork = $"  wireguard: {{ keyFile: \"{lab.Dir}/keys/{{host}}.key\" }}";
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var pristine = lab.HostNames.ToDictionary(h => h, h => BackendsOnLabTests.Snapshot(lab, h));

        var before = await lab.RunAsync("plan");
        Assert.True(before.ExitCode == 0, before.ToString());
        Assert.Contains("private key generated on the host (public key known after apply)", before.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(lab.Dir, "keys")), "plan made a key");

        var log = Path.Combine(lab.Dir, "apply.log");
        var clock = Stopwatch.StartNew();
        var apply = await lab.RunAsync("apply", "-o", "json", "-v", "--log-file", log);
        output.WriteLine($"apply (3 hosts, keys made, wireguard-go started): {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.True(apply.ExitCode == 0, apply.ToString());

        var keys = lab.HostNames.ToDictionary(h => h, h => Path.Combine(lab.Dir, "keys", h + ".key"));
        var privateKeys = keys.Values.Select(k => File.ReadAllText(k).Trim()).ToList();
        Assert.Equal(3, privateKeys.Distinct(StringComparer.Ordinal).Count());
        Assert.All(keys.Values, k => Assert.Equal("400", Sh.Must("stat", "-c", "%a", k).Trim()));

        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        clock.Restart();
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        output.WriteLine($"first pings (handshakes included): {clock.Elapsed.TotalSeconds:0.00} s");
        var verify = await lab.RunAsync("verify", "-o", "json");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var pairs = verify.Json().GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(6, pairs.Count);
        Assert.All(pairs, p => Assert.Equal(3 * 1420, p.GetProperty("tcp").GetProperty("received").GetInt32()));

        var plan = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        // doctor's wireguard checks on the real thing: every key, peer and handshake as the leases say.
        var doctor = await lab.RunAsync("doctor");
        Assert.True(doctor.ExitCode == 0, doctor.ToString());
        var status = await lab.RunAsync("status");
        Assert.True(status.ExitCode == 0, status.ToString());

        // Each host's device: flannel's name and MTU, its key's public half in its lease, two peers that shook hands.
        var leases = etcd.Cluster.Etcdctl(null, "get", "--prefix", $"/e2e/{lab.Id}/");
        Assert.Contains("\"Backend\":{\"Type\":\"wireguard\",\"ListenPort\":51820,\"PersistentKeepaliveInterval\":0}", leases, StringComparison.Ordinal);
        var listed = await lab.RunAsync("leases", "list", "-o", "json");
        var table = await lab.RunAsync("leases", "list");
        Assert.Contains("PUBLIC KEY", table.Stdout, StringComparison.Ordinal);
        foreach (var host in lab.HostNames)
        {
            var device = lab.InHostRun(host, "wg", "show", "flannel-wg", "public-key").Trim();
            Assert.Contains($"\"PublicKey\":\"{device}\",\"Port\":51820", leases, StringComparison.Ordinal);
            var row = listed.Json().GetProperty("leases").EnumerateArray().Single(l => l.GetProperty("host").GetString() == host);
            Assert.Equal((device, 51820), (row.GetProperty("publicKey").GetString(), row.GetProperty("port").GetInt32()));
            Assert.Contains(device, table.Stdout, StringComparison.Ordinal);
            Assert.Contains("mtu 1420", lab.InHost(host, "ip", "link", "show", "flannel-wg"), StringComparison.Ordinal);
            var handshakes = lab.InHostRun(host, "wg", "show", "flannel-wg", "latest-handshakes").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, handshakes.Length);
            Assert.Contains("10.244.0.0/16 dev flannel-wg proto 211", lab.InHost(host, "ip", "route"), StringComparison.Ordinal);
        }

        // rotate-keys n1: a new pair made on n1, its lease and every peer follow; traffic flows, nothing is left to do.
        var rotatePlan = await lab.RunAsync("rotate-keys", "--limit", "n1", "--dry-run");
        Assert.True(rotatePlan.ExitCode == 0, rotatePlan.ToString());
        Assert.Contains("a new private key generated on the host (public key known after apply)", rotatePlan.Stdout, StringComparison.Ordinal);
        var oldPublic = lab.InHostRun("n1", "wg", "show", "flannel-wg", "public-key").Trim();
        var rotate = await lab.RunAsync("rotate-keys", "--limit", "n1", "-v");
        Assert.True(rotate.ExitCode == 0, rotate.ToString());
        var newPublic = lab.InHostRun("n1", "wg", "show", "flannel-wg", "public-key").Trim();
        Assert.NotEqual(oldPublic, newPublic);
        Assert.Contains($"\"PublicKey\":\"{newPublic}\"", etcd.Cluster.Etcdctl(null, "get", "--prefix", $"/e2e/{lab.Id}/"), StringComparison.Ordinal);
        Assert.Contains(newPublic, lab.InHostRun("n2", "wg", "show", "flannel-wg", "peers"), StringComparison.Ordinal);
        Assert.DoesNotContain(oldPublic, lab.InHostRun("n3", "wg", "show", "flannel-wg", "peers"), StringComparison.Ordinal);
        // A handshake that crossed the peers' reconfiguration is retried by WireGuard only after 5 s (REKEY_TIMEOUT), so the
        // first echo across a rotation may be lost (one CI run lost n1->n2's, 2 s apiece); traffic must flow right after.
        ApplyOnLabTests.AssertFullMesh(lab, containers, attempts: 4);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        var rotatedKey = File.ReadAllText(keys["n1"]).Trim();
        Assert.DoesNotContain(rotatedKey, rotate.Stdout + rotate.Stderr + rotatePlan.Stdout, StringComparison.Ordinal);
        privateKeys.Add(rotatedKey);

        // The private keys are nowhere but in their files: not in etcd, plans, output, -v logs or the audit file.
        var everything = string.Join("\n", leases, listed.Stdout, table.Stdout, before.Stdout, before.Stderr, apply.Stdout, apply.Stderr, plan.Stdout, plan.Stderr, verify.Stdout, doctor.Stdout, status.Stdout, rotatePlan.Stdout, rotate.Stdout, rotate.Stderr, File.ReadAllText(log));
        Assert.Contains("wg set flannel-wg private-key", File.ReadAllText(log), StringComparison.Ordinal);
        foreach (var secret in privateKeys) Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);

        var pids = lab.HostNames.Select(h => File.ReadAllText($"/run/overlayctl/wireguard-e{lab.Id}-{h}.pid").Trim()).ToList();
        Assert.All(pids, pid => Assert.True(Directory.Exists($"/proc/{pid}"), $"wireguard-go {pid} is not running"));

        lab.RemoveContainers();
        var destroy = await lab.RunAsync("destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], BackendsOnLabTests.Snapshot(lab, h));
        await WaitGoneAsync(pids);
        Assert.All(lab.HostNames, h => Assert.False(File.Exists($"/run/overlayctl/wireguard-e{lab.Id}-{h}.pid")));
        // The key stays: a later apply gives the host the same public key.
        Assert.All(keys.Values, k => Assert.True(File.Exists(k)));
        Assert.DoesNotContain("subnets", etcd.Cluster.Etcdctl(null, "get", "--prefix", "--keys-only", $"/e2e/{lab.Id}/"), StringComparison.Ordinal);
    }

    /// <summary>wireguard-go leaves once its device is deleted and it is stopped; give it a moment to be reaped.</summary>
    private static async Task WaitGoneAsync(IReadOnlyList<string> pids)
    {
        for (var i = 0; i < 50 && pids.Any(p => Directory.Exists($"/proc/{p}")); i++) await Task.Delay(100);
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"wireguard-go {pid} is still running"));
    }
}
