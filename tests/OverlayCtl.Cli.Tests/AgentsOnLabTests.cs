using System.Diagnostics;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;
using Xunit.Abstractions;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Agents as real processes in namespace hosts, with an etcd the hosts reach through the lab bridge:
/// no apply is ever run; joins propagate and a "rebooted" host is repaired on its own.
/// </summary>
[Trait("Category", "Namespaces")]
public sealed class AgentsOnLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AgentsAloneConvergeALabAJoinReachesEveryoneAndARebootIsRepaired()
    {
        var port = EtcdCluster.FreeTcpPort();
        await using var lab = new LabCluster($"http://198.18.70.254:{port}", hosts: 4, underlay: "198.18.70.0/24");
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var etcd = await EtcdCluster.StartOnAsync("198.18.70.254", port);
        try
        {
            var started = await lab.RunAsync("lab", "agents", "up", "--limit", "n1,n2,n3");
            Assert.True(started.ExitCode == 0, started.ToString());
            var containers = new Dictionary<string, (string Subnet, string Address)>();
            foreach (var host in new[] { "n1", "n2", "n3" })
                containers[host] = await ContainerWhenReadyAsync(lab, host);
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(20));

            var status = await lab.RunAsync("status", "-o", "json", "--limit", "n1,n2,n3");
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.All(status.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("running", h.GetProperty("agent").GetProperty("state").GetString()));

            // A fourth host's agent, run in the foreground as systemd would: the others reach its container on their own.
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "netns", "exec", lab.Netns("n4") }.Concat(Commands.AgentCommand.Self()).Concat(["agent", "-f", lab.SpecPath, "--host", "n4"]))
                start.ArgumentList.Add(arg);
            // As systemd would (Type=notify): a datagram socket named in $NOTIFY_SOCKET, READY=1 after the first convergence.
            var notify = Path.Combine(lab.Dir, "notify.sock");
            using var systemd = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Unspecified);
            systemd.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(notify));
            start.Environment["NOTIFY_SOCKET"] = notify;
            using var n4 = Process.Start(start)!;
            var n4Log = n4.StandardError.ReadToEndAsync();
            containers["n4"] = await ContainerWhenReadyAsync(lab, "n4");
            var message = new byte[64];
            using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                Assert.Equal("READY=1", System.Text.Encoding.ASCII.GetString(message, 0, await systemd.ReceiveAsync(message, System.Net.Sockets.SocketFlags.None, wait.Token)));
            var join = Stopwatch.StartNew();
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(10));
            output.WriteLine($"join: every container reaches n4's {join.Elapsed.TotalSeconds:F2} s after it was attached");

            // A "reboot" of n2: its VXLAN device, routes and overlayctl's chains gone.
            lab.InHost("n2", "ip", "link", "del", "flannel.1");
            lab.InHost("n2", "iptables", "-F", "OVERLAYCTL-FWD");
            var repair = Stopwatch.StartNew();
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(10));
            output.WriteLine($"repair: the mesh is whole {repair.Elapsed.TotalSeconds:F2} s after n2 lost its overlay");
            Assert.Contains("-A OVERLAYCTL-FWD", lab.InHost("n2", "iptables-save", "-t", "filter"), StringComparison.Ordinal);

            // The same "reboot" with n2's agent stopped (a host booting before its agent): broken until the agent starts, whole once it has.
            Assert.Equal(0, (await lab.RunAsync("lab", "agents", "down", "--limit", "n2")).ExitCode);
            lab.InHost("n2", "ip", "link", "del", "flannel.1");
            lab.InHost("n2", "iptables", "-F", "OVERLAYCTL-FWD");
            Assert.False(lab.Ping("n1", containers["n2"].Address), "n2 was reachable with its overlay gone");
            Assert.Equal(0, (await lab.RunAsync("lab", "agents", "up", "--limit", "n2")).ExitCode);
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(20));

            // SIGTERM: the agents stop, exit 0, and the network stays.
            Sh.Must("kill", "-TERM", n4.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(n4.WaitForExit(TimeSpan.FromSeconds(10)), "n4's agent did not stop on SIGTERM");
            Assert.True(n4.ExitCode == 0, $"exit {n4.ExitCode}: {await n4Log}");
            Assert.Equal(0, (await lab.RunAsync("lab", "agents", "down")).ExitCode);
            ApplyOnLabTests.AssertFullMesh(lab, containers);
            // Nothing of the agents is left running in any host: no kernel monitor outlives its agent.
            foreach (var host in lab.HostNames)
                Assert.True(string.IsNullOrWhiteSpace(Sh.Must("ip", "netns", "pids", lab.Netns(host))), $"processes left in {host}: {Sh.Must("ip", "netns", "pids", lab.Netns(host))}");
            status = await lab.RunAsync("status", "-o", "json");
            Assert.All(status.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("stopped", h.GetProperty("agent").GetProperty("state").GetString()));
            Assert.Contains("agent stopping; the network stays as it is", File.ReadAllText($"/run/overlayctl/lab/e{lab.Id}/n1.log"), StringComparison.Ordinal);
        }
        finally
        {
            await lab.RunAsync("lab", "agents", "down");
        }
    }

    [Fact]
    public async Task AgentsRideOutEtcdLosingAMemberAndGoingDownAndCatchUpAfter()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => EtcdCluster.FreeTcpPort()).ToList();
        var endpoints = string.Join(", ", ports.Select(p => $"http://198.18.71.254:{p}"));
        await using var lab = new LabCluster(endpoints, hosts: 4, underlay: "198.18.71.0/24");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        using var etcd = await EtcdCluster.StartOnAsync("198.18.71.254", ports);
        try
        {
            Assert.Equal(0, (await lab.RunAsync("lab", "agents", "up", "--limit", "n1,n2,n3", "--resync", "5s")).ExitCode);
            var containers = new Dictionary<string, (string Subnet, string Address)>();
            foreach (var host in new[] { "n1", "n2", "n3" })
                containers[host] = await ContainerWhenReadyAsync(lab, host);
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(20));

            // One member of three gone: agents carry on, and a join still reaches everyone.
            etcd.Kill(0);
            Assert.Equal(0, (await lab.RunAsync("lab", "agents", "up", "--limit", "n4")).ExitCode);
            containers["n4"] = await ContainerWhenReadyAsync(lab, "n4");
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(15));

            // etcd down for 10 s: the network stays, and local drift is still repaired from the last leases seen.
            etcd.Kill(1);
            etcd.Kill(2);
            await Task.Delay(TimeSpan.FromSeconds(5));
            ApplyOnLabTests.AssertFullMesh(lab, containers);
            lab.InHost("n1", "ip", "route", "del", containers["n2"].Subnet);
            await UntilAsync(() => lab.InHost("n1", "ip", "route", "show", containers["n2"].Subnet).Contains("proto 211", StringComparison.Ordinal),
                TimeSpan.FromSeconds(5), "n1's route to n2 was not repaired while etcd was down: " + AgentLog(lab, "n1"));
            await Task.Delay(TimeSpan.FromSeconds(5));
            ApplyOnLabTests.AssertFullMesh(lab, containers);

            // etcd back: agents reconnect and converge on what changes next (a flannel node joining).
            await etcd.RestartAsync();
            Sh.Must("etcdctl", "--endpoints", string.Join(',', ports.Select(p => $"http://127.0.0.1:{p}")), "put", $"/e2e/{lab.Id}/network/subnets/10.244.200.0-24",
                """{"PublicIP":"198.18.71.99","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:99"}}""");
            foreach (var host in containers.Keys)
                await UntilAsync(() => lab.InHost(host, "ip", "route", "show", "10.244.200.0/24").Contains("dev flannel.1", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(40), $"{host} did not route to the flannel node that joined after etcd came back");
        }
        finally
        {
            await lab.RunAsync("lab", "agents", "down");
        }
    }

    private static string AgentLog(LabCluster lab, string host) => File.ReadAllText($"/run/overlayctl/lab/e{lab.Id}/{host}.log");

    private static async Task UntilAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the host's agent to hold a lease and make its docker bridge, then attaches a container.</summary>
    private static async Task<(string Subnet, string Address)> ContainerWhenReadyAsync(LabCluster lab, string host)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var leases = await lab.RunAsync("leases", "list", "-o", "json");
            var subnet = leases.ExitCode == 0
                ? leases.Json().GetProperty("leases").EnumerateArray().FirstOrDefault(l => l.GetProperty("host").GetString() == host) is { ValueKind: not System.Text.Json.JsonValueKind.Undefined } l
                    ? l.GetProperty("subnet").GetString() : null
                : null;
            if (subnet is not null && Sh.Run("ip", "-n", lab.Netns(host), "link", "show", "docker0").ExitCode == 0)
                return (subnet, lab.AddContainer(host, subnet));
            Assert.True(DateTime.UtcNow < deadline, $"{host}'s agent took no lease or made no bridge within 30 s: {leases}");
            await Task.Delay(100);
        }
    }

    private static async Task UntilMeshAsync(LabCluster lab, Dictionary<string, (string Subnet, string Address)> containers, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var broken = containers.Keys.SelectMany(from => containers.Where(c => c.Key != from && !lab.Ping(from, c.Value.Address)).Select(c => $"{from}->{c.Key}")).ToList();
            if (broken.Count == 0) return;
            Assert.True(DateTime.UtcNow < deadline, "still no ping: " + string.Join(", ", broken));
            await Task.Delay(100);
        }
    }
}
