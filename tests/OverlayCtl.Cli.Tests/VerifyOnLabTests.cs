using System.Diagnostics;
using System.Text.Json;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;
using Xunit.Abstractions;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// verify on a namespace lab after a real apply: it passes only when containers reach each other, and each way
/// of breaking the containers' path (forwarding off, a FORWARD DROP, an MTU mismatch, nothing left to check)
/// fails naming the host and the cause, while the underlay column stays fine. No probe is ever left behind.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class VerifyOnLabTests(EtcdFixture etcd, ITestOutputHelper output)
{
    [Fact]
    public async Task VerifyFailsNamingTheHostAndCauseForEachWayOfBreakingTheContainersPath()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.41.0/24");
        await lab.RunAsync("lab", "up");
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);

        var clock = Stopwatch.StartNew();
        var healthy = await lab.RunAsync("verify", "-o", "json");
        output.WriteLine($"healthy verify: {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.True(healthy.ExitCode == 0, healthy.ToString());
        Assert.Equal(6, Pairs(healthy).Count);
        Assert.All(Pairs(healthy), p =>
        {
            Assert.True(p.GetProperty("fullSize").GetBoolean());
            Assert.Equal(3 * 1450, p.GetProperty("tcp").GetProperty("received").GetInt32());
            Assert.EndsWith(".254", p.GetProperty("target").GetString(), StringComparison.Ordinal);
        });
        AssertNoProbeLeft(lab);
        var human = await lab.RunAsync("verify");
        Assert.Contains("all 6 pairs reach each other", human.Stdout, StringComparison.Ordinal);

        // (a) Forwarding off on n2: every pair with n2 breaks, the underlay does not.
        lab.InHost("n2", "sysctl", "-qw", "net.ipv4.ip_forward=0");
        var forwarding = await BrokenAsync(lab, "n1->n2", "n2->n1", "n2->n3", "n3->n2");
        Assert.Contains(Causes(forwarding, "n1", "n2"), c => c.StartsWith("n2 [ip-forward]", StringComparison.Ordinal));
        Assert.All(Pairs(forwarding), p => Assert.True(p.GetProperty("underlay").GetBoolean()));
        var text = await lab.RunAsync("verify");
        Assert.Contains("n1 -> n2: n2 [ip-forward] net.ipv4.ip_forward is 0", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("4 of 6 pairs broken", text.Stdout, StringComparison.Ordinal);
        lab.InHost("n2", "sysctl", "-qw", "net.ipv4.ip_forward=1");

        // (b) A DROP ahead of overlayctl's jump in n3's FORWARD.
        lab.InHost("n3", "iptables", "-I", "FORWARD", "1", "-j", "DROP");
        var drop = await BrokenAsync(lab, "n1->n3", "n3->n1", "n2->n3", "n3->n2");
        Assert.Contains(Causes(drop, "n3", "n1"), c => c.StartsWith("n3 [forward-policy] '-A FORWARD -j DROP'", StringComparison.Ordinal));
        lab.InHost("n3", "iptables", "-D", "FORWARD", "1");

        // (c) An MTU mismatch, two ways. n1's underlay shrinks below the overlay MTU plus VXLAN's 50 bytes after
        // apply: small packets pass, full-size ones are lost both ways. n2's VXLAN device is lowered under Docker's
        // MTU: n2 answers its containers' full-size packets with "frag needed", whose number verify reports.
        lab.InHost("n1", "ip", "link", "set", "eth0", "mtu", "1400");
        var underlay = await BrokenAsync(lab, "n1->n2", "n2->n1", "n1->n3", "n3->n1");
        Assert.All(Pairs(underlay).Where(p => !p.GetProperty("ok").GetBoolean()), p => Assert.True(p.GetProperty("icmp").GetBoolean()));
        Assert.Contains(Causes(underlay, "n2", "n1"), c => c.StartsWith("MTU: 1450-byte packets (the overlay MTU, don't-fragment) are lost while small ones pass", StringComparison.Ordinal));
        Assert.Contains(Causes(underlay, "n1", "n2"), c => c.StartsWith("n1 [mtu] flannel.1 MTU 1450 exceeds eth0 MTU 1400", StringComparison.Ordinal));
        lab.InHost("n1", "ip", "link", "set", "eth0", "mtu", "1500");
        lab.InHost("n2", "ip", "link", "set", "flannel.1", "mtu", "1400");
        var device = await BrokenAsync(lab, "n2->n1", "n2->n3");
        Assert.Equal("MTU: the path carries 1400-byte packets but the overlay MTU is 1450 (a don't-fragment ping of 1450 bytes was answered 'mtu 1400')", Causes(device, "n2", "n3")[0]);
        Assert.Equal(1400, Pairs(device).First(p => p.GetProperty("from").GetString() == "n2").GetProperty("pathMtu").GetInt32());
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        AssertNoProbeLeft(lab);
        Assert.Equal(0, (await lab.RunAsync("verify")).ExitCode);

        // A docker bridge that is down: that host is named, the others are still checked.
        lab.InHost("n3", "ip", "link", "set", "docker0", "down");
        var down = await lab.RunAsync("verify", "-o", "json");
        Assert.True(down.ExitCode == 5, down.ToString());
        Assert.Contains("the docker bridge docker0 is down", down.Json().GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("name").GetString() == "n3").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(["n1->n2", "n2->n1"], Pairs(down).Where(p => p.GetProperty("ok").GetBoolean()).Select(p => $"{p.GetProperty("from").GetString()}->{p.GetProperty("to").GetString()}"));
        Assert.Equal(2, Pairs(down).Count);
        AssertNoProbeLeft(lab);
        lab.InHost("n3", "ip", "link", "set", "docker0", "up");

        // (d) After destroy nothing is left to check: that is a failure, naming every host.
        Assert.Equal(0, (await lab.RunAsync("destroy", "--auto-approve", "--release-leases")).ExitCode);
        var empty = await lab.RunAsync("verify", "-o", "json");
        Assert.True(empty.ExitCode == 5, empty.ToString());
        Assert.StartsWith("no pair was checked", empty.Json().GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.All(empty.Json().GetProperty("hosts").EnumerateArray(), h => Assert.False(string.IsNullOrEmpty(h.GetProperty("error").GetString())));
        Assert.Contains("no pair was checked", empty.Stderr, StringComparison.Ordinal);
        AssertNoProbeLeft(lab);
    }

    [Fact]
    public async Task CtrlCDuringVerifyStillRemovesEveryProbe()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.42.0/24");
        await lab.RunAsync("lab", "up");
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        // Every pair then waits out its pings, which leaves time to interrupt while the probes exist (with one
        // host dropping, a loaded machine once saw verify finish before the interrupt landed).
        lab.InHost("n1", "iptables", "-I", "FORWARD", "1", "-j", "DROP");
        lab.InHost("n2", "iptables", "-I", "FORWARD", "1", "-j", "DROP");
        var binary = Path.Combine(AppContext.BaseDirectory, "overlayctl");
        // A test run started in the background (CI, nohup) hands its children SIGINT ignored, which a process keeps
        // across exec, as a shell's background job does: env gives verify the default disposition back, as a terminal's
        // foreground job has it. One pair at a time: each waits out its ping (2 s), so the run lasts seconds.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--default-signal=INT", binary, "verify", "-f", lab.SpecPath, "--parallel", "1" }) start.ArgumentList.Add(arg);
        using var verify = Process.Start(start)!;
        var stderr = verify.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        // Watched in /run/netns itself: a process per look would see the probes late on a loaded machine.
        while (!Directory.EnumerateFileSystemEntries("/run/netns", "ovlprobe-*").Any() && deadline.Elapsed < TimeSpan.FromSeconds(20))
            await Task.Delay(20);
        Assert.Contains("ovlprobe-", Sh.Must("ip", "netns", "list"), StringComparison.Ordinal);
        await Task.Delay(100);
        Assert.False(verify.HasExited, "verify ended before it could be interrupted");
        Sh.Must("kill", "-INT", verify.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(verify.WaitForExit(TimeSpan.FromSeconds(20)), "verify did not stop on SIGINT");
        output.WriteLine(await stderr);
        Assert.Equal(130, verify.ExitCode);
        AssertNoProbeLeft(lab);
    }

    [Fact]
    public async Task AVerifyKilledOutrightLeavesProbesWhichTheNextRemovesOnceTheDeadRunsLockExpires()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.43.0/24");
        await lab.RunAsync("lab", "up");
        Assert.Equal(0, (await lab.RunAsync("apply")).ExitCode);
        // Pairs that wait out their pings keep the probes in place long enough to kill verify among them.
        lab.InHost("n1", "iptables", "-I", "FORWARD", "1", "-j", "DROP");
        lab.InHost("n2", "iptables", "-I", "FORWARD", "1", "-j", "DROP");
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "overlayctl")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "verify", "-f", lab.SpecPath, "--parallel", "1" }) start.ArgumentList.Add(arg);
        using var verify = Process.Start(start)!;
        _ = verify.StandardOutput.ReadToEndAsync();
        _ = verify.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        while (!lab.HostNames.All(h => lab.InHost(h, "ip", "-o", "link", "show", "master", "docker0").Contains(" ovp", StringComparison.Ordinal))
               && deadline.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(50);
        Assert.False(verify.HasExited, "verify ended before it could be killed");
        verify.Kill();
        Assert.True(verify.WaitForExit(TimeSpan.FromSeconds(10)));
        var left = Directory.EnumerateFileSystemEntries("/run/netns", "ovlprobe-*").Select(Path.GetFileName).ToList();
        Assert.NotEmpty(left);
        try
        {
            // The dead run's lock lives out its etcd lease (15 s): the next verify waits for it, then removes what it left.
            lab.InHost("n1", "iptables", "-D", "FORWARD", "1");
            lab.InHost("n2", "iptables", "-D", "FORWARD", "1");
            var next = await lab.RunAsync("verify", "--lock-timeout", "40s");
            output.WriteLine(next.ToString());
            Assert.True(next.ExitCode == 0, next.ToString());
            Assert.Contains("left by an earlier verify that was killed", next.Stderr, StringComparison.Ordinal);
            AssertNoProbeLeft(lab);
        }
        finally
        {
            foreach (var ns in left) Sh.Run("ip", "netns", "del", ns!);
        }
    }

    /// <summary>Runs verify, expecting exactly these pairs broken, each with a cause.</summary>
    private static async Task<CliResult> BrokenAsync(LabCluster lab, params string[] expected)
    {
        var verify = await lab.RunAsync("verify", "-o", "json");
        Assert.True(verify.ExitCode == 5, verify.ToString());
        var broken = Pairs(verify).Where(p => !p.GetProperty("ok").GetBoolean()).ToList();
        Assert.Equal(expected.Order(), broken.Select(p => $"{p.GetProperty("from").GetString()}->{p.GetProperty("to").GetString()}").Order());
        Assert.All(broken, p => Assert.NotEqual(0, p.GetProperty("causes").GetArrayLength()));
        AssertNoProbeLeft(lab);
        return verify;
    }

    private static List<JsonElement> Pairs(CliResult verify) => verify.Json().GetProperty("pairs").EnumerateArray().ToList();

    private static List<string> Causes(CliResult verify, string from, string to) => Pairs(verify)
        .Single(p => p.GetProperty("from").GetString() == from && p.GetProperty("to").GetString() == to)
        .GetProperty("causes").EnumerateArray().Select(c => c.GetString()!).ToList();

    private static void AssertNoProbeLeft(LabCluster lab)
    {
        Assert.DoesNotContain("ovlprobe-", Sh.Must("ip", "netns", "list"), StringComparison.Ordinal);
        foreach (var host in lab.HostNames)
            Assert.DoesNotContain(" ovp", lab.InHost(host, "ip", "-o", "link", "show"), StringComparison.Ordinal);
    }
}
