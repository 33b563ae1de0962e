using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Docker picks up the change: apply runs docker.restart on exactly the hosts whose daemon.json it
/// changed, then checks the docker bridge holds the gateway.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class DockerRestartOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task DockerRestartRunsOnlyWhereDaemonJsonChangedAndTheGatewayIsChecked()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 2, underlay: "198.18.53.0/24");
        // Each run leaves one new file: a record of where and how often it ran.
        lab.ExtraDocker = $"restart: [mktemp, -p, '{lab.Dir}/{{host}}', restarted.XXXXXX]";
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);

        var first = await lab.RunAsync("apply", "-o", "json");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.All(first.Json().GetProperty("hosts").EnumerateArray(), h => Assert.True(h.GetProperty("dockerRestart").GetProperty("ran").GetBoolean()));
        Assert.Equal((1, 1), (Restarts(lab, "n1"), Restarts(lab, "n2")));

        var second = await lab.RunAsync("apply", "-o", "json");
        Assert.All(second.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal(System.Text.Json.JsonValueKind.Null, h.GetProperty("dockerRestart").ValueKind));
        Assert.Equal((1, 1), (Restarts(lab, "n1"), Restarts(lab, "n2")));

        File.WriteAllText(Path.Combine(lab.Dir, "n1", "daemon.json"), "{ \"debug\": true }");
        var third = await lab.RunAsync("apply");
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.Contains("n1: dockerd restarted (mktemp -p", third.Stdout, StringComparison.Ordinal);
        Assert.Equal((2, 1), (Restarts(lab, "n1"), Restarts(lab, "n2")));

        // A restart after which the bridge lacks the gateway fails the host, saying so.
        lab.ExtraDocker = "restart: [ip, addr, flush, dev, docker0]";
        lab.WriteSpec();
        File.WriteAllText(Path.Combine(lab.Dir, "n2", "daemon.json"), "{ \"debug\": true }");
        var broken = await lab.RunAsync("apply");
        Assert.Equal(4, broken.ExitCode);
        // The recap's HOST column names n2, its DETAIL the cause; the log line names the host once.
        Assert.Matches(@"\nn2 +\S+ +failed .* after `ip addr flush dev docker0`, docker0 does not hold 10\.244\.", broken.Stdout);
        Assert.Contains("ERR n2: after `ip addr flush dev docker0`", broken.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("n2: n2:", broken.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARestartThatFailedIsRunAgainByTheNextApplyWhichPlanShowsAndThenNothingIsLeft()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 1, underlay: "198.18.55.0/24");
        lab.ExtraDocker = "restart: [\"false\"]";
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var failed = await lab.RunAsync("apply");
        Assert.Equal(4, failed.ExitCode);
        Assert.Contains("docker.restart `false` exited 1", failed.Stderr, StringComparison.Ordinal);
        var pending = Path.Combine(lab.Dir, "n1", "daemon.json.overlayctl.restart");
        Assert.True(File.Exists(pending));

        // daemon.json already says the bip, yet the restart is still due: plan shows it, and apply runs it.
        lab.ExtraDocker = $"restart: [mktemp, -p, '{lab.Dir}/{{host}}', restarted.XXXXXX]";
        lab.WriteSpec();
        var plan = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(plan.ExitCode == 2, plan.ToString());
        Assert.Contains("daemon.json.overlayctl.restart", plan.Stdout, StringComparison.Ordinal);
        Assert.Contains("its docker.restart did not finish", plan.Stderr, StringComparison.Ordinal);
        var retried = await lab.RunAsync("apply", "-o", "json");
        Assert.True(retried.ExitCode == 0, retried.ToString());
        Assert.True(retried.Json().GetProperty("hosts")[0].GetProperty("dockerRestart").GetProperty("ran").GetBoolean());
        Assert.Equal(1, Restarts(lab, "n1"));
        Assert.False(File.Exists(pending));
        var again = await lab.RunAsync("plan", "--detailed-exitcode");
        Assert.True(again.ExitCode == 0, again.ToString());
    }

    [Fact]
    public async Task WithoutDockerRestartApplySaysARestartIsDue()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 1, underlay: "198.18.54.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var restart = apply.Json().GetProperty("hosts")[0].GetProperty("dockerRestart");
        Assert.False(restart.GetProperty("ran").GetBoolean());
        Assert.StartsWith("10.244.", restart.GetProperty("bip").GetString(), StringComparison.Ordinal);
        Assert.Contains("WRN n1: dockerd must restart to use bip 10.244.", apply.Stderr, StringComparison.Ordinal);
    }

    private static int Restarts(LabCluster lab, string host) => Directory.EnumerateFiles(Path.Combine(lab.Dir, host), "restarted.*").Count();
}
