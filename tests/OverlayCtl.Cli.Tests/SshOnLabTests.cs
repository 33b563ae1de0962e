using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;
using Xunit.Abstractions;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// The same namespace hosts reached over a real sshd each and over netns: apply over ssh converges them as apply over
/// netns would (a netns plan afterwards finds nothing), and a run opens at most one ssh connection per host.
/// </summary>
[Trait("Category", "Namespaces")]
public sealed class SshOnLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ApplyOverSshConvergesAsOverNetnsWithOneHandshakePerHostPerRun()
    {
        var port = EtcdCluster.FreeTcpPort();
        await using var lab = new LabCluster($"http://198.18.170.254:{port}", hosts: 3, underlay: "198.18.170.0/24", namespacePrefix: "fl-");
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var etcd = await EtcdCluster.StartOnAsync("198.18.170.254", port);
        await using var ssh = SshLab.Start(lab);

        await RunCountedAsync(ssh, lab, "apply");
        // What ssh made is what netns would have made: planned over netns, the hosts need nothing.
        var netns = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(netns.ExitCode == 0, netns.ToString());

        var noop = await RunCountedAsync(ssh, lab, "apply", "-o", "json");
        Assert.All(noop.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("ok", h.GetProperty("result").GetString()));
        var plan = await ssh.RunAsync("plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 0, plan.ToString());

        // Containers on the hosts ssh converged reach each other.
        var leases = (await lab.RunAsync("leases", "list", "-o", "json")).Json().GetProperty("leases").EnumerateArray()
            .ToDictionary(l => l.GetProperty("host").GetString()!, l => l.GetProperty("subnet").GetString()!);
        lab.AddContainer("n1", leases["n1"]);
        var c3 = lab.AddContainer("n3", leases["n3"]);
        Assert.True(lab.Ping("n1", c3));
    }

    [Fact]
    public async Task ANonRootUserWithSudoConvergesTheHostsAsRootWould()
    {
        var port = EtcdCluster.FreeTcpPort();
        await using var lab = new LabCluster($"http://198.18.172.254:{port}", hosts: 2, underlay: "198.18.172.0/24", namespacePrefix: "fl-");
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var etcd = await EtcdCluster.StartOnAsync("198.18.172.254", port);
        await using var ssh = SshLab.Start(lab);
        var user = "fl" + lab.Id;
        ssh.AddSudoUser(user);

        // Without sudo the user cannot change the hosts: the failure is the host's, named.
        ssh.WriteSpec(user);
        var refused = await ssh.RunAsync("apply");
        Assert.True(refused.ExitCode == 4, refused.ToString());

        ssh.WriteSpec(user, "?sudo=true");
        await RunCountedAsync(ssh, lab, "apply");
        var netns = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(netns.ExitCode == 0, netns.ToString());
        var noop = await RunCountedAsync(ssh, lab, "apply", "-o", "json");
        Assert.All(noop.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("ok", h.GetProperty("result").GetString()));
        // The files were written as root, through sudo, keeping root's ownership.
        Assert.Equal("root", Sh.Must("stat", "-c", "%U", Path.Combine(lab.Dir, "n1", "subnet.env")).Trim());
    }

    /// <summary>Runs overlayctl over ssh and checks the run's connections: at most one handshake per host, every master closed.</summary>
    private async Task<CliResult> RunCountedAsync(SshLab ssh, LabCluster lab, params string[] args)
    {
        var before = lab.HostNames.ToDictionary(h => h, ssh.Handshakes);
        var invocations = ssh.Invocations;
        var run = await ssh.RunAsync(args);
        output.WriteLine($"{string.Join(' ', args)}: {run}");
        Assert.True(run.ExitCode == 0, run.ToString());
        var handshakes = lab.HostNames.ToDictionary(h => h, h => ssh.Handshakes(h) - before[h]);
        output.WriteLine($"handshakes per host {string.Join(", ", handshakes.Select(p => $"{p.Key}={p.Value}"))}; ssh processes {ssh.Invocations - invocations}");
        foreach (var group in ssh.RemoteCommands(invocations).GroupBy(c => c.Length > 50 ? c[..50] : c).OrderByDescending(g => g.Count()))
            output.WriteLine($"  {group.Count(),4} x {group.Key}");
        Assert.All(handshakes, p => Assert.True(p.Value == 1, $"{p.Key}: {p.Value} handshakes in one run"));
        // More commands than hosts ran, over those connections; each master was closed (ssh -O exit) and its socket removed.
        Assert.True(ssh.Invocations - invocations > lab.HostNames.Count);
        Assert.Empty(ssh.ControlDirectories());
        return run;
    }
}
