using System.Diagnostics;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// The product, the NativeAOT binary, run as a process: trimming and AOT breaks (a type the trimmer
/// removed, reflection the compiler could not see) pass every in-process test and fail only here.
/// scripts/test.sh publishes it (scripts/native.sh) and names it in OVERLAYCTL_NATIVE.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class NativeBinaryTests(EtcdFixture etcd, Xunit.Abstractions.ITestOutputHelper output)
{
    // Not 192.0.2.0/24: that is this machine's own eth0 network.
    private const string Underlay = "198.18.7.0/24";

    [Fact]
    public void TheBinaryRunsAloneWithNoDotnetRuntimeAndPrintsTheHelp()
    {
        // Alone in a directory: a framework-dependent build would miss its overlayctl.dll and runtimeconfig here.
        var dir = Directory.CreateTempSubdirectory("overlayctl-native-").FullName;
        try
        {
            var lone = Path.Combine(dir, "overlayctl");
            File.Copy(Binary(), lone);
            var help = Run(lone, "--help");
            Assert.True(help.ExitCode == 0, help.ToString());
            Golden.Match("OverlayCtl.Cli.Tests", "help-root.txt", help.Stdout);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ValidateAcceptsTheSampleLabAndLocatesAMistake()
    {
        var valid = Run(Binary(), "validate", "-f", Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml"), "-o", "json");
        Assert.True(valid.ExitCode == 0, valid.ToString());
        Assert.Equal(3, valid.Json().GetProperty("hosts").GetArrayLength());

        var dir = Directory.CreateTempSubdirectory("overlayctl-native-").FullName;
        try
        {
            var spec = Path.Combine(dir, "broken.yaml");
            File.WriteAllText(spec, """
                apiVersion: overlayctl/v1
                kind: Cluster
                name: broken
                etcd:
                  endpoints: [http://127.0.0.1:2379]
                network:
                  cidr: 10.244.0.0/16
                hosts:
                  - name: node1
                    address: 198.18.7.300
                    connection: netns://broken-node1
                """);
            var broken = Run(Binary(), "validate", "-f", spec);
            Assert.True(broken.ExitCode == 1, broken.ToString());
            Assert.Contains($"{spec}:10:14: address '198.18.7.300' of host node1 is not an IPv4 address", broken.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task LeasesAreAllocatedAndListedInARealEtcd()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: Underlay);

        var allocate = RunOn(lab, "leases", "allocate");
        Assert.True(allocate.ExitCode == 0, allocate.ToString());
        var list = RunOn(lab, "leases", "list", "-o", "json");
        Assert.True(list.ExitCode == 0, list.ToString());
        var leases = list.Json().GetProperty("leases").EnumerateArray().ToDictionary(l => l.GetProperty("host").GetString()!);
        Assert.Equal(["n1", "n2"], leases.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(lab.Address("n1"), leases["n1"].GetProperty("publicIp").GetString());
        Assert.NotEqual(leases["n1"].GetProperty("subnet").GetString(), leases["n2"].GetProperty("subnet").GetString());

        // The spec-less form, as the start-up benchmark runs it; YAML goes through the same JSON contract.
        var yaml = Run(Binary(), "leases", "list", "--endpoints", lab.EtcdUrl, "--prefix", $"/e2e/{lab.Id}/network", "-o", "yaml");
        Assert.True(yaml.ExitCode == 0, yaml.ToString());
        Assert.Contains($"subnet: {leases["n2"].GetProperty("subnet").GetString()}", yaml.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApplyBuildsATwoHostLabThatContainersPingAcrossAndDestroyTakesItAway()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: Underlay);
        var up = RunOn(lab, "lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());

        var apply = RunOn(lab, "apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, ApplyOnLabTests.AttachContainers(lab, apply));
        var plan = RunOn(lab, "plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 0, plan.ToString());

        lab.RemoveContainers();
        var destroy = RunOn(lab, "destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var host in lab.HostNames)
            Assert.DoesNotContain("flannel.1", lab.InHost(host, "ip", "link"), StringComparison.Ordinal);
        Assert.Empty(RunOn(lab, "leases", "list", "-o", "json").Json().GetProperty("leases").EnumerateArray());

        var down = RunOn(lab, "lab", "down");
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.NotEqual(0, Sh.Run("ip", "netns", "exec", lab.Netns("n1"), "true").ExitCode);
    }

    /// <summary>
    /// Dual-stack through the native binary: the IPv6 parsers, lease forms and JSON fields (validate's ipv6 and address6,
    /// plan's flannel-v6 and IPv6 routes, apply, status's device6, leases list's subnet6 and publicIpv6) go through
    /// trimmed, AOT-compiled code that no in-process test runs. Hosts on a bridge of the test's own (dr6...).
    /// </summary>
    [Fact]
    public async Task ADualStackLabIsValidatedPlannedAppliedAndReportedWithItsIPv6Parts()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.191.0/24", namespacePrefix: "dr6-")
        {
            Underlay6 = "fd00:198:18:191::",
            Cidr = "10.190.0.0/16",
            ExtraNetwork = "  ipv6: { cidr: \"fd00:10:190::/48\" }",
        };
        lab.WriteSpec();
        var validate = RunOn(lab, "validate", "-o", "json");
        Assert.True(validate.ExitCode == 0, validate.ToString());
        var resolved = validate.Json();
        Assert.Equal(("fd00:10:190::/48", 64, "fd00:10:190:1::"), (resolved.GetProperty("ipv6").GetProperty("network").GetString(),
            resolved.GetProperty("ipv6").GetProperty("subnetLength").GetInt32(), resolved.GetProperty("ipv6").GetProperty("subnetMin").GetString()));
        Assert.Equal(lab.Address6("n2"), resolved.GetProperty("hosts")[1].GetProperty("address6").GetString());

        var up = RunOn(lab, "lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        var plan = RunOn(lab, "plan");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        Assert.Contains("+ link flannel-v6.1", plan.Stdout, StringComparison.Ordinal);
        Assert.Contains($"dev flannel-v6.1 self dst {lab.Address6("n2")} permanent", plan.Stdout, StringComparison.Ordinal);
        Assert.Contains("+ route fd00:10:190:", plan.Stdout, StringComparison.Ordinal);

        var apply = RunOn(lab, "apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        var leases = RunOn(lab, "leases", "list", "-o", "json");
        Assert.True(leases.ExitCode == 0, leases.ToString());
        var held = leases.Json().GetProperty("leases").EnumerateArray().ToDictionary(l => l.GetProperty("host").GetString()!);
        Assert.Equal(["n1", "n2"], held.Keys.Order(StringComparer.Ordinal));
        foreach (var (host, lease) in held)
        {
            Assert.StartsWith("fd00:10:190:", lease.GetProperty("subnet6").GetString(), StringComparison.Ordinal);
            Assert.EndsWith("::/64", lease.GetProperty("subnet6").GetString(), StringComparison.Ordinal);
            Assert.Equal(lab.Address6(host), lease.GetProperty("publicIpv6").GetString());
        }
        var containers6 = held.ToDictionary(l => l.Key, l => lab.AddContainer6(l.Key, l.Value.GetProperty("subnet6").GetString()!));
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        DualStackOnLabTests.AssertFullMesh6(lab, containers6);

        var status = RunOn(lab, "status", "-o", "json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.All(status.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal(("converged", "up"), (h.GetProperty("state").GetString(), h.GetProperty("device6").GetString())));
        var again = RunOn(lab, "plan", "--detailed-exitcode");
        Assert.True(again.ExitCode == 0, again.ToString());

        lab.RemoveContainers();
        var destroy = RunOn(lab, "destroy", "--auto-approve", "--release-leases");
        Assert.True(destroy.ExitCode == 0, destroy.ToString());
        foreach (var host in lab.HostNames)
            Assert.DoesNotContain("flannel", lab.InHost(host, "ip", "link"), StringComparison.Ordinal);
    }

    [Fact]
    public void AgentInstallFromTheNativeBinaryPlansToCopyItself()
    {
        var binary = Binary();
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(binary)))[..12];
        var dir = Directory.CreateTempSubdirectory("overlayctl-native-").FullName;
        try
        {
            // The sample lab with node1 reached as this machine itself.
            var spec = Path.Combine(dir, "local.yaml");
            File.WriteAllText(spec, File.ReadAllText(Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml")).Replace("netns://ovl-node1", "local", StringComparison.Ordinal));
            // --dry-run under --root: the host is only read (systemd's is-enabled answers no here), nothing is written.
            var plan = Run(binary, "agent", "install", "--dry-run", "-f", spec, "--limit", "node1", "--root", dir);
            Assert.True(plan.ExitCode == 0, plan.ToString());
            Assert.Contains($"+ /usr/local/bin/overlayctl (mode 755, {new FileInfo(binary).Length} bytes, sha256 {sha})", plan.Stdout, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir, "node1")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task TheNativeAgentKeepsADualStackLabConvergedAndRepairsIpv6Drift()
    {
        var port = EtcdCluster.FreeTcpPort();
        await using var lab = AgentsDualStackOnLabTests.DualStackLab(181, hosts: 2, "ag6n-", port);
        var up = RunOn(lab, "lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var agentsEtcd = await EtcdCluster.StartOnAsync(AgentsDualStackOnLabTests.EtcdAddress(181), port);
        try
        {
            // lab agents up started by the native binary runs the native binary as each host's agent.
            var started = RunOn(lab, "lab", "agents", "up", "--resync", "10m");
            Assert.True(started.ExitCode == 0, started.ToString());
            var containers = new Dictionary<string, AgentsDualStackOnLabTests.Container>();
            foreach (var host in lab.HostNames)
                containers[host] = await AgentsDualStackOnLabTests.ContainerWhenReadyAsync(lab, host);
            await AgentsDualStackOnLabTests.UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(30));
            Assert.Contains(Binary(), File.ReadAllText($"/proc/{File.ReadAllText($"/run/overlayctl/lab/e{lab.Id}/n1.pid").Trim()}/cmdline").Replace('\0', ' '), StringComparison.Ordinal);

            var n2 = containers["n2"];
            await AgentsDualStackOnLabTests.RepairedAsync(lab, "n1", "n2's IPv6 route",
                () => lab.InHost("n1", "ip", "-6", "route", "del", n2.Subnet6, "dev", "flannel-v6.1"),
                () => lab.InHost("n1", "ip", "-6", "route", "show", n2.Subnet6).Contains("proto 211", StringComparison.Ordinal), output);
            await AgentsDualStackOnLabTests.UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(10));
            var plan = RunOn(lab, "plan", "--detailed-exitcode");
            Assert.True(plan.ExitCode == 0, plan.ToString());
        }
        finally
        {
            RunOn(lab, "lab", "agents", "down");
        }
    }

    private static string Binary()
    {
        var path = Environment.GetEnvironmentVariable("OVERLAYCTL_NATIVE");
        Assert.False(string.IsNullOrEmpty(path),
            "OVERLAYCTL_NATIVE is not set: run scripts/test.sh, which publishes the native binary and sets it, " +
            "or run OVERLAYCTL_NATIVE=$(scripts/native.sh) dotnet test");
        Assert.True(File.Exists(path), $"OVERLAYCTL_NATIVE={path} does not exist; scripts/native.sh publishes it");
        return path;
    }

    private static CliResult RunOn(LabCluster lab, params string[] args) => Run(Binary(), [.. args, "-f", lab.SpecPath]);

    /// <summary>Runs the binary with nothing but PATH in its environment: no DOTNET_ROOT, nothing to find a runtime with.</summary>
    private static CliResult Run(string binary, params string[] args)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        var path = start.Environment["PATH"];
        start.Environment.Clear();
        start.Environment["PATH"] = path;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"overlayctl {string.Join(' ', args)} did not finish within 2 minutes");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
