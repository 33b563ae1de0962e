using System.Diagnostics;
using System.Globalization;
using System.Net;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Core.Spec;
using OverlayCtl.Hosts.Lab;
using OverlayCtl.Testing;
using Xunit.Abstractions;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// What crosses the underlay under the wireguard backend (a capture on the lab's bridge while containers ping and
/// exchange TCP), and switching a live lab from vxlan to wireguard and back.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class WireGuardTrafficOnLabTests(EtcdFixture etcd, ITestOutputHelper output)
{
    [Fact]
    public async Task TheUnderlayCarriesOnlyWireGuardBetweenTheHostsAndNoContainerAddressInTheClear()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, backend: "wireguard",
            underlay: "198.18.121.0/24", namespacePrefix: "wg-", privateRun: true);
        lab.ExtraNetwork = $"  wireguard: {{ keyFile: \"{lab.Dir}/keys/{{host}}.key\" }}";
        lab.WriteSpec();
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        ApplyOnLabTests.AssertFullMesh(lab, containers);

        var bridge = LabManager.BridgeName(SpecLoader.Load(lab.SpecPath));
        var pcap = Path.Combine(lab.Dir, "underlay.pcap");
        using var tcpdump = Process.Start(new ProcessStartInfo("tcpdump", ["-i", bridge, "-n", "-U", "-s", "0", "-w", pcap]) { RedirectStandardError = true })!;
        try
        {
            await WaitListeningAsync(tcpdump);
            ApplyOnLabTests.AssertFullMesh(lab, containers);
            // TCP between containers directly (verify also pings the underlay between hosts to judge pairs, which is not container traffic).
            foreach (var from in containers.Keys)
                foreach (var (to, target) in containers)
                    if (from != to) await AssertTcpEchoAsync(lab, from, to, target.Address);
        }
        finally
        {
            Sh.Run("kill", "-INT", tcpdump.Id.ToString(CultureInfo.InvariantCulture));
            await tcpdump.WaitForExitAsync();
        }

        var lines = Sh.Must("tcpdump", "-r", pcap, "-n", "-nn").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var hosts = lab.HostNames.Select(lab.Address).ToHashSet(StringComparer.Ordinal);
        var ipv4 = lines.Where(l => l.Contains(" IP ", StringComparison.Ordinal)).ToList();
        output.WriteLine($"captured {lines.Length} packets on {bridge}, {ipv4.Count} IPv4; first: {lines.FirstOrDefault()}");
        Assert.True(ipv4.Count >= 6 * 4, $"too few packets captured ({ipv4.Count}) for the pings and TCP exchanges");
        var foreign = ipv4.Where(l => !IsWireGuardBetween(l, hosts)).ToList();
        Assert.True(foreign.Count == 0, "not WireGuard between the hosts:\n" + string.Join("\n", foreign.Take(20)));
        Assert.DoesNotContain(lines, l => l.Contains("10.244.", StringComparison.Ordinal));
        // And no container address in any packet's bytes (ciphertext matching 4 given bytes by chance is ~1e-4 here).
        var bytes = await File.ReadAllBytesAsync(pcap);
        foreach (var (_, address) in containers.Values)
            Assert.True(bytes.AsSpan().IndexOf(IPAddress.Parse(address).GetAddressBytes()) < 0, $"{address} appears in the capture");
    }

    [Fact]
    public async Task AVxlanLabMovesToWireGuardAndBackWithPingsAfterEachSwitch()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, backend: "vxlan",
            underlay: "198.18.122.0/24", namespacePrefix: "wg-", privateRun: true);
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var pristine = lab.HostNames.ToDictionary(h => h, h => BackendsOnLabTests.Snapshot(lab, h));
        var apply = await lab.RunAsync("apply", "-o", "json");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var containers = ApplyOnLabTests.AttachContainers(lab, apply);
        ApplyOnLabTests.AssertFullMesh(lab, containers);

        lab.Backend = "wireguard";
        lab.ExtraNetwork = $"  wireguard: {{ keyFile: \"{lab.Dir}/keys/{{host}}.key\" }}";
        lab.WriteSpec();
        var toWireGuard = await lab.RunAsync("apply");
        Assert.True(toWireGuard.ExitCode == 0, toWireGuard.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        foreach (var h in lab.HostNames)
        {
            Assert.DoesNotContain("flannel.1", lab.InHost(h, "ip", "link"), StringComparison.Ordinal);
            Assert.Contains("flannel-wg", lab.InHost(h, "ip", "link"), StringComparison.Ordinal);
        }
        var pids = lab.HostNames.Select(h => File.ReadAllText($"/run/overlayctl/wireguard-e{lab.Id}-{h}.pid").Trim()).ToList();

        lab.Backend = "vxlan";
        lab.WriteSpec();
        var toVxlan = await lab.RunAsync("apply");
        Assert.True(toVxlan.ExitCode == 0, toVxlan.ToString());
        ApplyOnLabTests.AssertFullMesh(lab, containers);
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);
        foreach (var h in lab.HostNames)
        {
            Assert.DoesNotContain("flannel-wg", lab.InHost(h, "ip", "link"), StringComparison.Ordinal);
            Assert.DoesNotContain("flannel-wg", lab.InHost(h, "ip", "route"), StringComparison.Ordinal);
            Assert.False(File.Exists($"/run/overlayctl/wireguard-e{lab.Id}-{h}.pid"));
        }
        for (var i = 0; i < 50 && pids.Any(p => Directory.Exists($"/proc/{p}")); i++) await Task.Delay(100);
        Assert.All(pids, pid => Assert.False(Directory.Exists($"/proc/{pid}"), $"wireguard-go {pid} is still running"));

        lab.RemoveContainers();
        Assert.Equal(0, (await lab.RunAsync("destroy", "--auto-approve", "--release-leases")).ExitCode);
        foreach (var h in lab.HostNames) Assert.Equal(pristine[h], BackendsOnLabTests.Snapshot(lab, h));
    }

    /// <summary>A tcpdump line of a UDP packet from one host's WireGuard port to another's.</summary>
    private static bool IsWireGuardBetween(string line, IReadOnlySet<string> hosts)
    {
        // "12:00:00.000000 IP 198.18.121.11.51820 > 198.18.121.12.51820: UDP, length 128"
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var ip = Array.IndexOf(parts, "IP");
        if (ip < 0 || ip + 3 >= parts.Length || parts[ip + 2] != ">" || !line.Contains(": UDP", StringComparison.Ordinal)) return false;
        static (string Address, string Port) Split(string endpoint)
        {
            var text = endpoint.TrimEnd(':');
            var dot = text.LastIndexOf('.');
            return (text[..dot], text[(dot + 1)..]);
        }
        var (from, fromPort) = Split(parts[ip + 1]);
        var (to, toPort) = Split(parts[ip + 3]);
        return hosts.Contains(from) && hosts.Contains(to) && from != to && fromPort == "51820" && toPort == "51820";
    }

    /// <summary>64 KiB sent from a container on one host to a socat echo in another's, and back intact.</summary>
    private static async Task AssertTcpEchoAsync(LabCluster lab, string from, string to, string address)
    {
        using var server = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", lab.ContainerNs(to), "socat", "-T5", "TCP-LISTEN:7000,reuseaddr", "EXEC:cat"])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            await Task.Delay(300);
            var payload = new string('w', 64 * 1024) + "\n";
            using var client = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", lab.ContainerNs(from), "socat", "-T5", "-", $"TCP:{address}:7000"])
                { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true })!;
            var echoed = client.StandardOutput.ReadToEndAsync();
            await client.StandardInput.WriteAsync(payload);
            client.StandardInput.Close();
            await client.WaitForExitAsync();
            Assert.True(await echoed == payload, $"TCP {from}->{to} ({address}): {(await echoed).Length} of {payload.Length} bytes back; {await client.StandardError.ReadToEndAsync()}");
        }
        finally
        {
            if (!server.HasExited) server.Kill();
            await server.WaitForExitAsync();
        }
    }

    private static async Task WaitListeningAsync(Process tcpdump)
    {
        var read = tcpdump.StandardError.ReadLineAsync();
        var done = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(done == read && (await read)?.Contains("listening", StringComparison.Ordinal) == true, "tcpdump did not start");
        _ = tcpdump.StandardError.ReadToEndAsync();
    }
}
