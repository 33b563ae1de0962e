using System.Diagnostics;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;
using Xunit.Abstractions;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Agents alone on a dual-stack vxlan lab, and on a dual-stack host-gw one (namespace hosts with IPv4 and IPv6 underlay addresses, etcd reached
/// through the lab bridge): a fourth host's join reaches every agent over both families, IPv6 drift (a peer's
/// route, neighbour, flannel-v6 fdb entry) is repaired by the host's agent on the kernel's word, and a host
/// leaving takes its IPv6 state off its peers. No apply ever runs on the agents' hosts.
/// </summary>
[Trait("Category", "Namespaces")]
public sealed class AgentsDualStackOnLabTests(ITestOutputHelper output)
{
    /// <summary>
    /// Much longer than any wait below: every repair must come from a kernel signal (or etcd), never from the resync.
    /// </summary>
    private static readonly string[] Agents = ["--resync", "10m"];

    [Fact]
    public async Task DualStackAgentsTakeAJoinRepairIpv6DriftAndDropAHostThatLeft()
    {
        var port = EtcdCluster.FreeTcpPort();
        await using var lab = DualStackLab(180, hosts: 4, "ag6-", port);
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var etcd = await EtcdCluster.StartOnAsync(EtcdAddress(180), port);
        try
        {
            var started = await lab.RunAsync(["lab", "agents", "up", "--limit", "n1,n2,n3", .. Agents]);
            Assert.True(started.ExitCode == 0, started.ToString());
            var containers = new Dictionary<string, Container>();
            foreach (var host in new[] { "n1", "n2", "n3" })
                containers[host] = await ContainerWhenReadyAsync(lab, host);
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(30));

            // (a) A fourth host's agent joins: the three add its IPv6 route, neighbour and fdb entry on their own.
            Assert.Equal(0, (await lab.RunAsync(["lab", "agents", "up", "--limit", "n4", .. Agents])).ExitCode);
            containers["n4"] = await ContainerWhenReadyAsync(lab, "n4");
            var join = Stopwatch.StartNew();
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(15));
            output.WriteLine($"join: every container reaches n4's over IPv4 and IPv6 {join.Elapsed.TotalSeconds:F2} s after it was attached");
            var n4 = containers["n4"];
            foreach (var host in new[] { "n1", "n2", "n3" })
            {
                Assert.Contains($"via {n4.Vtep6} dev flannel-v6.1 proto 211", lab.InHost(host, "ip", "-6", "route", "show", n4.Subnet6), StringComparison.Ordinal);
                Assert.Contains("PERMANENT", lab.InHost(host, "ip", "-6", "neigh", "show", n4.Vtep6, "dev", "flannel-v6.1"), StringComparison.Ordinal);
                Assert.Contains($"dst {lab.Address6("n4")} self permanent", lab.InHost(host, "bridge", "fdb", "show", "dev", "flannel-v6.1"), StringComparison.Ordinal);
            }

            // (b) IPv6 drift on n1, one kind at a time (each must wake the agent by itself): n2's route, neighbour, fdb entry.
            var n2 = containers["n2"];
            var mac6 = Fdb6Mac(lab, "n1", lab.Address6("n2")!);
            await RepairedAsync(lab, "n1", "n2's IPv6 route",
                () => lab.InHost("n1", "ip", "-6", "route", "del", n2.Subnet6, "dev", "flannel-v6.1"),
                () => lab.InHost("n1", "ip", "-6", "route", "show", n2.Subnet6).Contains("proto 211", StringComparison.Ordinal));
            await RepairedAsync(lab, "n1", "n2's IPv6 neighbour",
                () => lab.InHost("n1", "ip", "-6", "neigh", "del", n2.Vtep6, "dev", "flannel-v6.1"),
                () => lab.InHost("n1", "ip", "-6", "neigh", "show", n2.Vtep6, "dev", "flannel-v6.1").Contains("PERMANENT", StringComparison.Ordinal));
            await RepairedAsync(lab, "n1", "n2's flannel-v6 fdb entry",
                () => lab.InHost("n1", "bridge", "fdb", "del", mac6, "dev", "flannel-v6.1", "self", "dst", lab.Address6("n2")!),
                () => Fdb6Mac(lab, "n1", lab.Address6("n2")!) == mac6);
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(10));

            // (c) n4 leaves (its agent stopped, its host destroyed, its lease released): its peers drop its IPv6 state.
            Assert.Equal(0, (await lab.RunAsync("lab", "agents", "down", "--limit", "n4")).ExitCode);
            Sh.Must("ip", "netns", "del", lab.ContainerNs("n4"));
            var destroy = await lab.RunAsync("destroy", "--limit", "n4", "--auto-approve", "--release-leases");
            Assert.True(destroy.ExitCode == 0, destroy.ToString());
            var leave = Stopwatch.StartNew();
            foreach (var host in new[] { "n1", "n2", "n3" })
            {
                await UntilAsync(() => !lab.InHost(host, "ip", "-6", "route", "show", n4.Subnet6).Contains("proto 211", StringComparison.Ordinal)
                        && !lab.InHost(host, "ip", "-6", "neigh", "show", "dev", "flannel-v6.1").Contains(n4.Vtep6 + " ", StringComparison.Ordinal)
                        && !lab.InHost(host, "bridge", "fdb", "show", "dev", "flannel-v6.1").Contains($"dst {lab.Address6("n4")} ", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(15), $"{host} kept n4's IPv6 state after n4 left: {AgentLog(lab, host)}");
                Assert.DoesNotContain(n4.Subnet, lab.InHost(host, "ip", "route"), StringComparison.Ordinal);
            }
            output.WriteLine($"leave: n4's IPv6 state gone from its peers {leave.Elapsed.TotalSeconds:F2} s after its lease was released");
            containers.Remove("n4");
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(10));
            foreach (var host in new[] { "n1", "n2", "n3" })
                Assert.DoesNotContain("could not converge", AgentLog(lab, host), StringComparison.Ordinal);
        }
        finally
        {
            await lab.RunAsync("lab", "agents", "down");
        }
    }

    [Fact]
    public async Task HostGwDualStackAgentsRouteEachPeersIpv6SubnetViaItsAddress6AndRepairADeletedOne()
    {
        var port = EtcdCluster.FreeTcpPort();
        await using var lab = DualStackLab(182, hosts: 3, "ag6g-", port, backend: "host-gw");
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        using var etcd = await EtcdCluster.StartOnAsync(EtcdAddress(182), port);
        try
        {
            var started = await lab.RunAsync(["lab", "agents", "up", .. Agents]);
            Assert.True(started.ExitCode == 0, started.ToString());
            var containers = new Dictionary<string, Container>();
            foreach (var host in lab.HostNames) containers[host] = await ContainerWhenReadyAsync(lab, host);
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(30));
            var n2 = containers["n2"];
            Assert.Contains($"via {lab.Address6("n2")} dev eth0 proto 211", lab.InHost("n1", "ip", "-6", "route", "show", n2.Subnet6), StringComparison.Ordinal);
            await RepairedAsync(lab, "n1", "n2's IPv6 route via its address6",
                () => lab.InHost("n1", "ip", "-6", "route", "del", n2.Subnet6),
                () => lab.InHost("n1", "ip", "-6", "route", "show", n2.Subnet6).Contains($"via {lab.Address6("n2")} dev eth0 proto 211", StringComparison.Ordinal));
            await UntilMeshAsync(lab, containers, TimeSpan.FromSeconds(10));
            foreach (var host in lab.HostNames)
                Assert.DoesNotContain("could not converge", AgentLog(lab, host), StringComparison.Ordinal);
        }
        finally
        {
            await lab.RunAsync("lab", "agents", "down");
        }
    }

    /// <summary>
    /// A dual-stack lab of its own, all numbered by <paramref name="net"/>: underlay 198.18.NET.0/24 and fd00:198:18:NET::/64,
    /// overlays 10.NET.0.0/16 and fd00:10:NET::/48, and etcd at <see cref="EtcdAddress"/>, the lab bridge's root address, which
    /// agents inside the hosts reach (127.0.0.1 there is their own). Its spec is written.
    /// </summary>
    internal static LabCluster DualStackLab(int net, int hosts, string namespacePrefix, int port, string backend = "vxlan")
    {
        var lab = new LabCluster($"http://{EtcdAddress(net)}:{port}", hosts, $"198.18.{net}.0/24", backend, namespacePrefix: namespacePrefix)
        {
            Underlay6 = $"fd00:198:18:{net}::",
            Cidr = $"10.{net}.0.0/16",
            ExtraNetwork = $"  ipv6: {{ cidr: \"fd00:10:{net}::/48\" }}",
        };
        lab.WriteSpec();
        return lab;
    }

    internal static string EtcdAddress(int net) => $"198.18.{net}.254";

    /// <summary>A host's container: its lease's subnets and its addresses in them.</summary>
    internal sealed record Container(string Subnet, string Address, string Subnet6, string Address6)
    {
        /// <summary>The host's IPv6 VTEP address (flannel-v6's): the IPv6 subnet's own address.</summary>
        public string Vtep6 => Subnet6.Split('/')[0];
    }

    private Task RepairedAsync(LabCluster lab, string host, string what, Action breakIt, Func<bool> repaired) =>
        RepairedAsync(lab, host, what, breakIt, repaired, output);

    /// <summary>Breaks something on <paramref name="host"/> and waits (5 s at most, polling) for its agent to put it back.</summary>
    internal static async Task RepairedAsync(LabCluster lab, string host, string what, Action breakIt, Func<bool> repaired, ITestOutputHelper output)
    {
        Assert.True(repaired(), $"{what} was not there to break");
        breakIt();
        var clock = Stopwatch.StartNew();
        await UntilAsync(repaired, TimeSpan.FromSeconds(5), $"{host}'s agent did not repair {what} within 5 s: {AgentLog(lab, host)}");
        output.WriteLine($"repair: {what} back on {host} in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    /// <summary>The MAC of the flannel-v6.1 fdb entry sending to <paramref name="address6"/> on <paramref name="host"/>, or "".</summary>
    private static string Fdb6Mac(LabCluster lab, string host, string address6) =>
        lab.InHost(host, "bridge", "fdb", "show", "dev", "flannel-v6.1").Split('\n')
            .Where(l => l.Contains($" dst {address6} ", StringComparison.Ordinal) && !l.StartsWith("00:00:00:00:00:00", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[0]).FirstOrDefault() ?? "";

    internal static string AgentLog(LabCluster lab, string host) =>
        File.Exists($"/run/overlayctl/lab/e{lab.Id}/{host}.log") ? File.ReadAllText($"/run/overlayctl/lab/e{lab.Id}/{host}.log") : "(no log)";

    private static async Task UntilAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the host's agent to hold a dual-stack lease and make its docker bridge, then attaches a container with both families.</summary>
    internal static async Task<Container> ContainerWhenReadyAsync(LabCluster lab, string host)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var leases = await lab.RunAsync("leases", "list", "-o", "json");
            var lease = leases.ExitCode == 0
                ? leases.Json().GetProperty("leases").EnumerateArray().FirstOrDefault(l => l.GetProperty("host").GetString() == host)
                : default;
            if (lease.ValueKind == System.Text.Json.JsonValueKind.Object && lease.TryGetProperty("subnet6", out var s6) && s6.GetString() is { } subnet6
                && Sh.Run("ip", "-n", lab.Netns(host), "link", "show", "docker0").ExitCode == 0)
            {
                var subnet = lease.GetProperty("subnet").GetString()!;
                var address = lab.AddContainer(host, subnet);
                return new Container(subnet, address, subnet6, lab.AddContainer6(host, subnet6));
            }
            Assert.True(DateTime.UtcNow < deadline, $"{host}'s agent took no dual-stack lease or made no bridge within 30 s: {leases}");
            await Task.Delay(100);
        }
    }

    /// <summary>Until every container pings every other over IPv4 and over IPv6.</summary>
    internal static async Task UntilMeshAsync(LabCluster lab, Dictionary<string, Container> containers, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var broken = containers.Keys.SelectMany(from => containers.Where(c => c.Key != from).SelectMany(c => new[]
            {
                lab.Ping(from, c.Value.Address) ? null : $"{from}->{c.Key}",
                lab.Ping6(from, c.Value.Address6) ? null : $"{from}->{c.Key} (IPv6)",
            })).OfType<string>().ToList();
            if (broken.Count == 0) return;
            Assert.True(DateTime.UtcNow < deadline, "still no ping: " + string.Join(", ", broken));
            await Task.Delay(100);
        }
    }
}
