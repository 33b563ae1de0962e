using OverlayCtl.Core;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Lab;
using OverlayCtl.Hosts.Tests.Support;
using Serilog.Core;

namespace OverlayCtl.Hosts.Tests.Connections;

[Trait("Category", "Namespaces")]
// Classes that create namespaces run one after another: run in parallel, the lab test failed once in CI.
[Collection("Namespaces")]
public sealed class LabManagerTests
{
    [Fact]
    public async Task LabUpBuildsReachableHostsIsIdempotentAndDownRemovesEverything()
    {
        var id = Sh.Unique("l");
        var spec = SpecLoader.Parse($"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: {id}
            network:
              cidr: 10.244.0.0/16
            hosts:
              - name: a
                address: 198.18.215.21
                connection: netns://{id}-a
              - name: b
                address: 198.18.215.22
                connection: netns://{id}-b
              - name: c
                address: 198.18.215.23
                connection: netns://{id}-c
            """, "lab.yaml");
        var lab = new LabManager(new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));
        try
        {
            var up = await lab.UpAsync(spec, default);
            Assert.Contains($"netns {id}-a", up.Created);
            Assert.Equal(0, Sh.Run("ip", "netns", "exec", $"{id}-a", "ping", "-c1", "-w5", "198.18.215.23").ExitCode);
            Assert.Equal(0, Sh.Run("ip", "netns", "exec", $"{id}-c", "ping", "-c1", "-w5", "198.18.215.22").ExitCode);

            var again = await lab.UpAsync(spec, default);
            Assert.Empty(again.Created);

            var down = await lab.DownAsync(spec, default);
            Assert.Contains($"bridge {LabManager.BridgeName(spec)}", down.Removed);
            Assert.DoesNotContain($"{id}-", Sh.Must("ip", "netns", "list"), StringComparison.Ordinal);
            Assert.NotEqual(0, Sh.Run("ip", "link", "show", LabManager.BridgeName(spec)).ExitCode);
            Assert.Empty((await lab.DownAsync(spec, default)).Removed);
        }
        finally
        {
            await lab.DownAsync(spec, default);
        }
    }

    [Fact]
    public async Task AWireGuardLabGivesEachHostItsOwnRunWireGuardAndDownStopsWhatTheBackendStarted()
    {
        var id = Sh.Unique("w");
        var spec = SpecLoader.Parse($"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: {id}
            network:
              cidr: 10.244.0.0/16
              backend: wireguard
            hosts:
              - name: a
                address: 198.18.141.21
                connection: netns://{id}-a
              - name: b
                address: 198.18.141.22
                connection: netns://{id}-b
            """, "lab.yaml");
        var lab = new LabManager(new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));
        var pidFile = Core.Backends.WireGuard.WireGuardBackend.PidFile(spec, spec.Hosts[0]);
        try
        {
            await lab.UpAsync(spec, default);
            // Two hosts, two directories: wireguard-go's socket in one is not the other's.
            Assert.True(Directory.Exists(LabManager.PrivateWireGuardRun($"{id}-a")));
            Assert.True(Directory.Exists(LabManager.PrivateWireGuardRun($"{id}-b")));
            var runner = new NetnsHostRunner("a", $"{id}-a", new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));
            Assert.True((await runner.RunAsync(Core.Hosts.CommandSpec.Of("touch", "/run/wireguard/mine"), default)).Succeeded);
            Assert.True(File.Exists(Path.Combine(LabManager.PrivateWireGuardRun($"{id}-a"), "mine")));
            Assert.False(File.Exists(Path.Combine(LabManager.PrivateWireGuardRun($"{id}-b"), "mine")));

            // A wireguard-go the backend started (its pid file), left running by an apply no destroy followed;
            // a stand-in by that name, so the test needs no tunnel.
            var standIn = Path.Combine(Path.GetTempPath(), $"{id}-bin", "wireguard-go");
            Directory.CreateDirectory(Path.GetDirectoryName(standIn)!);
            File.Copy("/usr/bin/sleep", standIn, overwrite: true);
            Directory.CreateDirectory(Path.GetDirectoryName(pidFile)!);
            Sh.Must("start-stop-daemon", "--start", "--quiet", "--background", "--make-pidfile", "--pidfile", pidFile, "--exec", standIn, "--", "300");
            var pid = File.ReadAllText(pidFile).Trim();
            // start-stop-daemon returns before its child has become the program: wait until it has.
            for (var i = 0; i < 100 && File.ReadAllText($"/proc/{pid}/comm").Trim() != "wireguard-go"; i++) await Task.Delay(20);
            Assert.Equal("wireguard-go", File.ReadAllText($"/proc/{pid}/comm").Trim());
            var down = await lab.DownAsync(spec, default);
            Directory.Delete(Path.GetDirectoryName(standIn)!, recursive: true);
            Assert.Contains("wireguard-go a", down.Removed);
            Assert.Contains("private /run of a", down.Removed);
            Assert.False(File.Exists($"/proc/{pid}/cmdline") && File.ReadAllText($"/proc/{pid}/cmdline").Length > 0, "the wireguard-go stand-in still runs");
            Assert.False(Directory.Exists(Core.Hosts.RunPaths.NetnsPrivate($"{id}-a")));
            Assert.False(File.Exists(pidFile));
        }
        finally
        {
            await lab.DownAsync(spec, default);
            if (File.Exists(pidFile)) File.Delete(pidFile);
        }
    }

    private static ClusterSpec TwoHosts(string id, string stem) => SpecLoader.Parse($"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: {id}
        network:
          cidr: 10.244.0.0/16
        hosts:
          - name: a
            address: {stem}.21
            connection: netns://{id}-a
          - name: b
            address: {stem}.22
            connection: netns://{id}-b
        """, "lab.yaml");

    private static AddressInfo Held(string device, string address) => new(device, InterfaceAddress.TryParse(address, out var a) ? a : throw new ArgumentException(address));

    [Fact]
    public void AnUnderlayTheMachineHoldsAnAddressInIsRefusedWithTheAddressItsDeviceAndAFix()
    {
        var spec = TwoHosts("fl-held", "192.0.2");
        var refused = Assert.Throws<InputException>(() => LabManager.RefuseHeldUnderlay(spec, [Held("lo", "127.0.0.1/8"), Held("eth0", "192.0.2.2/24")]));
        Assert.Contains("this machine holds 192.0.2.2/24 on eth0, inside 192.0.2.0/24, the lab underlay of a, b", refused.Message, StringComparison.Ordinal);
        Assert.Contains("(fix: give the lab hosts addresses in a range this machine holds none in, e.g. 198.18.0.0/15", refused.Message, StringComparison.Ordinal);

        // Elsewhere, or on the lab's own bridge (etcd's address for agents, put there by an earlier lab up), is no collision.
        LabManager.RefuseHeldUnderlay(spec, [Held("eth0", "192.0.3.2/24"), Held(LabManager.BridgeName(spec), "192.0.2.254/24")]);
    }

    [Fact]
    public async Task LabUpRefusesARangeTheMachineHoldsAnAddressInAndMakesNothing()
    {
        var id = Sh.Unique("fl-");
        var bridge = "flbr" + id[3..];
        var spec = TwoHosts(id, "198.18.216");
        var lab = new LabManager(new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));
        try
        {
            // The machine's own address in the range, on a device no lab made (as this machine's eth0 holds 192.0.2.2/24).
            Sh.Must("ip", "link", "add", bridge, "type", "bridge");
            Sh.Must("ip", "addr", "add", "198.18.216.1/24", "dev", bridge);
            var refused = await Assert.ThrowsAsync<InputException>(() => lab.UpAsync(spec, default));
            Assert.Contains($"this machine holds 198.18.216.1/24 on {bridge}", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain($"{id}-", Sh.Must("ip", "netns", "list"), StringComparison.Ordinal);
            Assert.NotEqual(0, Sh.Run("ip", "link", "show", LabManager.BridgeName(spec)).ExitCode);
        }
        finally
        {
            Sh.Run("ip", "link", "del", bridge);
            await lab.DownAsync(spec, default);
        }
    }
}
