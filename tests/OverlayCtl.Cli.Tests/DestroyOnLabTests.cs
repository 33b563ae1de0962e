using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// destroy harms nothing it did not make, and asks: an old docker bridge is found by its mark, a bridge
/// with a container stays, the operator's daemon.json comes back as it was, and nothing runs unasked.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class DestroyOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task ARenamedDockerBridgeGivesUpTheGatewayAndDestroyLeavesNoBridgeOfOurs()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 1, underlay: "198.18.50.0/24");
        var apply = await UpAndApplyAsync(lab);
        var gateway = GatewayOf(apply);

        lab.ExtraDocker = "bridge: br-ovl";
        lab.WriteSpec();
        var plan = await lab.RunAsync("plan");
        Assert.Contains("  - link docker0\n      ip link del docker0\n", plan.Stdout, StringComparison.Ordinal);
        // On a terminal apply shows the plan and asks; "yes" runs it.
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var yes = await CommandLine.RunAsync(["apply", "-f", lab.SpecPath], stdout, stderr, new Terminal(new StringReader("yes\n"), interactive: true));
        Assert.True(yes == 0, stderr.ToString());
        Assert.Contains("  - link docker0\n      ip link del docker0\n", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("apply will change 1 host(s) as shown above. Type yes to go on: ", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(["br-ovl"], Holders(lab, gateway));
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);

        var destroy = await lab.RunAsync("destroy", "--auto-approve");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        Assert.Empty(Holders(lab, gateway));
        Assert.DoesNotContain("overlayctl", lab.InHost("n1", "ip", "-d", "link", "show", "type", "bridge"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DestroyAsksFirstAndKeepsADockerBridgeWithAContainerUntilForced()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 1, underlay: "198.18.51.0/24");
        var apply = await UpAndApplyAsync(lab);
        var subnet = apply.Json().GetProperty("hosts")[0].GetProperty("subnet").GetString()!;
        lab.AddContainer("n1", subnet);
        var gateway = GatewayOf(apply).Split('/')[0];
        var before = Config(lab);

        // No terminal and no --auto-approve: refused before anything is touched.
        var unasked = await lab.RunAsync("destroy");
        Assert.Equal(1, unasked.ExitCode);
        Assert.Contains("standard input is not a terminal (fix: pass --auto-approve", unasked.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, Config(lab));
        Assert.Equal(0, (await lab.RunAsync("destroy", "--dry-run")).ExitCode);

        // On a terminal it shows the plan and goes on only after "yes".
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var no = await CommandLine.RunAsync(["destroy", "-f", lab.SpecPath], stdout, stderr, new Terminal(new StringReader("no\n"), interactive: true));
        Assert.Equal(1, no);
        Assert.Contains("- link flannel.1", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("destroy will change 1 host(s) as shown above. Type yes to go on: overlayctl: not confirmed; no host was changed", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, Config(lab));

        var destroy = await lab.RunAsync("destroy", "--auto-approve");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        Assert.Contains($"! docker0 kept: e{lab.Id}n1 is attached to it", destroy.Stdout, StringComparison.Ordinal);
        Assert.True(lab.Ping("n1", gateway), "the container lost its gateway");
        Assert.DoesNotContain("flannel.1", lab.InHost("n1", "ip", "link"), StringComparison.Ordinal);

        var forced = await lab.RunAsync("destroy", "--auto-approve", "--force");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.DoesNotContain("docker0", lab.InHost("n1", "ip", "link"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOperatorsDaemonJsonIsEditedThroughItsLinkAndGivenBackByDestroy()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 1, underlay: "198.18.52.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var dir = Path.Combine(lab.Dir, "n1");
        Directory.CreateDirectory(Path.Combine(dir, "real"));
        var target = Path.Combine(dir, "real", "docker.json");
        const string Original = "{\n  // ours\n  \"log-driver\": \"journald\"\n}\n";
        File.WriteAllText(target, Original);
        Sh.Must("chmod", "600", target);
        Sh.Must("chown", "65534:65534", target);
        File.CreateSymbolicLink(Path.Combine(dir, "daemon.json"), target);

        var apply = await lab.RunAsync("apply");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Contains("original kept as", apply.Stdout, StringComparison.Ordinal);
        Assert.Equal(target, new FileInfo(Path.Combine(dir, "daemon.json")).LinkTarget);
        Assert.Contains("\"bip\"", File.ReadAllText(target), StringComparison.Ordinal);
        Assert.Equal("600 65534:65534", Sh.Must("stat", "-c", "%a %u:%g", target).Trim());
        Assert.Equal(Original, File.ReadAllText(Path.Combine(dir, "daemon.json.overlayctl.bak")));

        var destroy = await lab.RunAsync("destroy", "--auto-approve");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        Assert.Equal(Original, File.ReadAllText(target));
        Assert.False(File.Exists(Path.Combine(dir, "daemon.json.overlayctl.bak")));

        // A FIFO where daemon.json should be fails the host at once, naming it, instead of hanging.
        File.Delete(Path.Combine(dir, "daemon.json"));
        Sh.Must("mkfifo", Path.Combine(dir, "daemon.json"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var fifo = await lab.RunAsync("apply");
        Assert.Equal(4, fifo.ExitCode);
        Assert.Contains("daemon.json is a pipe (FIFO), not a regular file", fifo.Stdout + fifo.Stderr, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());

        File.Delete(Path.Combine(dir, "daemon.json"));
        File.WriteAllText(Path.Combine(dir, "daemon.json"), "{ \"bip\": \"10.9.0.1/24\", \"bip\": \"10.8.0.1/24\" }");
        var twice = await lab.RunAsync("apply");
        Assert.Equal(4, twice.ExitCode);
        Assert.Contains("daemon.json has the key 'bip' twice", twice.Stdout + twice.Stderr, StringComparison.Ordinal);
    }

    private static async Task<CliResult> UpAndApplyAsync(LabCluster lab)
    {
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        return apply;
    }

    private static string GatewayOf(CliResult apply)
    {
        var subnet = apply.Json().GetProperty("hosts")[0].GetProperty("subnet").GetString()!;
        return subnet[..subnet.LastIndexOf('.')] + ".1/" + subnet.Split('/')[1];
    }

    /// <summary>n1's devices, addresses, routes and rules; not link states, which a new bridge port changes by itself.</summary>
    private static string Config(LabCluster lab) => string.Join("\n",
        lab.InHost("n1", "ls", "/sys/class/net"), lab.InHost("n1", "ip", "-o", "-4", "addr"), lab.InHost("n1", "ip", "route"),
        lab.InHost("n1", "iptables", "-S"), lab.InHost("n1", "iptables", "-t", "nat", "-S"));

    /// <summary>The devices of n1 that hold <paramref name="address"/>.</summary>
    private static List<string> Holders(LabCluster lab, string address) =>
        lab.InHost("n1", "ip", "-o", "-4", "addr", "show").Split('\n')
            .Where(l => l.Contains($" inet {address} ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]).ToList();
}
