using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OverlayCtl.Core;
using OverlayCtl.Core.Backends.Ovs;
using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Observe;

namespace OverlayCtl.Hosts.Lab;

/// <summary>What <c>lab up</c> or <c>lab down</c> did.</summary>
public sealed record LabResult(IReadOnlyList<string> Created, IReadOnlyList<string> Removed, IReadOnlyList<string> Unchanged);

/// <summary>
/// Builds the spec's <c>netns://</c> hosts on this machine: one namespace per host with the spec's
/// interface (a veth) on a shared underlay bridge in the root namespace. The bridge holds no address,
/// so labs never touch the machine's own routing. Idempotent both ways.
/// <para>
/// When <c>network.ovs.db</c> is a per-host unix socket (it contains <c>{host}</c>), each host also gets
/// its own Open vSwitch (ovsdb-server and ovs-vswitchd started inside its namespace, files beside the
/// socket). With <c>datapathType: netdev</c> the host is laid out as OVS-DPDK hosts are: the underlay
/// address moves from the interface to an OVS bridge <c>br-phy</c> holding it, since userspace tunnels
/// only start from an address on an OVS bridge.
/// </para>
/// </summary>
public sealed class LabManager(ProcessRunner processes, int underlayPrefixLength = 24)
{
    private const string Root = "lab";

    /// <summary>The OVS bridge that holds a netdev lab host's underlay address.</summary>
    public const string PhysicalBridge = "br-phy";

    private const string Schema = "/usr/share/openvswitch/vswitch.ovsschema";
    private static readonly string[] Daemons = ["ovs-vswitchd", "ovsdb-server"];

    /// <summary>Whether lab up runs an Open vSwitch per host for this spec.</summary>
    public static bool RunsOvs(ClusterSpec spec) =>
        OvsBackend.SettingsOf(spec).Db is { } db && db.StartsWith("unix:/", StringComparison.Ordinal) && db.Contains("{host}", StringComparison.Ordinal);

    /// <summary>The directory holding a host's OVS database, socket, pid files and logs.</summary>
    public static string OvsDirectory(ClusterSpec spec, HostSpec host) =>
        Path.GetDirectoryName(OvsBackend.SettingsOf(spec).DbFor(host)!["unix:".Length..])!;

    private static bool RunsWireGuard(ClusterSpec spec) => spec.Network.Backend.Name == WireGuardBackend.BackendName;

    /// <summary>The directory mounted over a namespace host's <c>/run/wireguard</c> (<see cref="RunPaths.NetnsPrivate"/>).</summary>
    public static string PrivateWireGuardRun(string netns) => Path.Combine(RunPaths.NetnsPrivate(netns), "wireguard");

    /// <summary>Stops the wireguard-go the backend started on <paramref name="host"/>, by its pid file; true if one ran.</summary>
    private async Task<bool> StopWireGuardAsync(ClusterSpec spec, HostSpec host, CancellationToken cancellationToken)
    {
        var pidFile = WireGuardBackend.PidFile(spec, host);
        if (!File.Exists(pidFile)) return false;
        await processes.RunAsync(Root, CommandSpec.Of("start-stop-daemon", "--stop", "--quiet", "--oknodo", "--retry", "5", "--pidfile", pidFile, "--name", "wireguard-go"), cancellationToken).ConfigureAwait(false);
        File.Delete(pidFile);
        return true;
    }

    /// <summary>The root-namespace bridge for a spec: short, and distinct per spec name.</summary>
    public static string BridgeName(ClusterSpec spec) => "ovl" + Hash(spec.Name)[..8] + "br";

    /// <summary>The root-namespace end of a host's veth.</summary>
    public static string RootVethName(ClusterSpec spec, HostSpec host) => "ovl" + Hash(spec.Name + "/" + host.Name)[..10];

    public async Task<LabResult> UpAsync(ClusterSpec spec, CancellationToken cancellationToken)
    {
        var created = new List<string>();
        var unchanged = new List<string>();
        var bridge = BridgeName(spec);
        var machine = await processes.RunAsync(Root, CommandSpec.Of("ip", "-j", "-4", "addr", "show"), cancellationToken).ConfigureAwait(false);
        if (!machine.Succeeded) throw new CommandFailedException(Root, CommandSpec.Of("ip", "-j", "-4", "addr", "show"), machine);
        RefuseHeldUnderlay(spec, StateParsers.ParseAddresses(machine.StandardOutput), underlayPrefixLength);
        if (!await LinkExistsAsync(null, bridge, cancellationToken).ConfigureAwait(false))
        {
            await MustAsync(cancellationToken, "ip", "link", "add", bridge, "type", "bridge").ConfigureAwait(false);
            created.Add($"bridge {bridge}");
        }
        // ARP off: the root namespace must never answer for lab addresses that happen to be its own.
        await MustAsync(cancellationToken, "ip", "link", "set", bridge, "arp", "off", "up").ConfigureAwait(false);
        foreach (var address in EtcdAddresses(spec))
        {
            // An agent inside a host reaches etcd only through an address the root holds on the bridge; with
            // arp_ignore=1 the root answers ARP there for that address alone, never for its own others.
            await MustAsync(cancellationToken, "sysctl", "-q", "-w", $"net.ipv4.conf.{bridge}.arp_ignore=1").ConfigureAwait(false);
            await MustAsync(cancellationToken, "ip", "addr", "replace", $"{address}/{underlayPrefixLength}", "dev", bridge).ConfigureAwait(false);
            await MustAsync(cancellationToken, "ip", "link", "set", bridge, "arp", "on").ConfigureAwait(false);
            created.Add($"address {address}/{underlayPrefixLength} on {bridge} (etcd for agents)");
        }
        foreach (var host in LabHosts(spec))
        {
            var ns = ((HostConnection.Netns)host.Connection).Name;
            var iface = host.Interface ?? "eth0";
            var rootEnd = RootVethName(spec, host);
            var fresh = false;
            if (!await NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false))
            {
                await MustAsync(cancellationToken, "ip", "netns", "add", ns).ConfigureAwait(false);
                created.Add($"netns {ns}");
                fresh = true;
            }
            await MustAsync(cancellationToken, "ip", "-n", ns, "link", "set", "lo", "up").ConfigureAwait(false);
            if (RunsWireGuard(spec) && !Directory.Exists(PrivateWireGuardRun(ns)))
            {
                // wireguard-go and wg meet in /run/wireguard, which namespace hosts would otherwise all share.
                Directory.CreateDirectory(PrivateWireGuardRun(ns));
                created.Add($"/run/wireguard of {host.Name} ({PrivateWireGuardRun(ns)})");
            }
            if (!await LinkExistsAsync(ns, iface, cancellationToken).ConfigureAwait(false))
            {
                if (await LinkExistsAsync(null, rootEnd, cancellationToken).ConfigureAwait(false))
                    await MustAsync(cancellationToken, "ip", "link", "del", rootEnd).ConfigureAwait(false);
                await MustAsync(cancellationToken, "ip", "link", "add", rootEnd, "type", "veth", "peer", "name", iface, "netns", ns).ConfigureAwait(false);
                created.Add($"veth {rootEnd} <-> {ns}/{iface}");
                fresh = true;
            }
            await MustAsync(cancellationToken, "ip", "link", "set", rootEnd, "master", bridge, "up").ConfigureAwait(false);
            await MustAsync(cancellationToken, "ip", "-n", ns, "link", "set", iface, "up").ConfigureAwait(false);
            var address = string.Create(CultureInfo.InvariantCulture, $"{host.Address}/{underlayPrefixLength}");
            var addressOn = iface;
            if (RunsOvs(spec))
            {
                if (await StartOvsAsync(spec, host, ns, cancellationToken).ConfigureAwait(false)) created.Add($"ovs {host.Name}");
                if (OvsBackend.SettingsOf(spec).DatapathType == "netdev")
                {
                    await PhysicalBridgeAsync(spec, host, ns, iface, address, cancellationToken).ConfigureAwait(false);
                    addressOn = PhysicalBridge;
                }
            }
            await MustAsync(cancellationToken, "ip", "-n", ns, "addr", "replace", address, "dev", addressOn).ConfigureAwait(false);
            // A dual-stack host's IPv6 underlay address, on the same link (a /64); nodad, so it is usable at once.
            if (host.Address6 is { } address6)
                await MustAsync(cancellationToken, "ip", "-n", ns, "addr", "replace", $"{address6}/{Underlay6PrefixLength}", "dev", addressOn, "nodad").ConfigureAwait(false);
            (fresh ? created : unchanged).Add($"host {host.Name}");
        }
        return new LabResult(created, [], unchanged);
    }

    /// <summary>
    /// Refuses a lab whose underlay holds an address of this machine (outside the lab's own bridge, where lab up puts
    /// etcd's address for agents): the root namespace would answer ARP for it on a lab bridge, and a lab host would
    /// then send its peer's packets to the machine instead (a real machine's eth0 network, 192.0.2.0/24 here, once
    /// made a test flaky this way). Nothing is made before this check.
    /// </summary>
    public static void RefuseHeldUnderlay(ClusterSpec spec, IReadOnlyList<AddressInfo> machineAddresses, int underlayPrefixLength = 24)
    {
        var hosts = LabHosts(spec).ToList();
        var bridge = BridgeName(spec);
        foreach (var underlay in hosts.Select(h => Ipv4Cidr.Containing(h.Address, underlayPrefixLength)).Distinct())
        {
            if (machineAddresses.FirstOrDefault(a => a.Device != bridge && underlay.Contains(a.Address.Address)) is not { } held) continue;
            var names = string.Join(", ", hosts.Where(h => underlay.Contains(h.Address)).Select(h => h.Name));
            throw new InputException(
                $"lab up refused: this machine holds {held.Address} on {held.Device}, inside {underlay}, the lab underlay of {names}; "
                + "the machine would answer for lab addresses there "
                + "(fix: give the lab hosts addresses in a range this machine holds none in, e.g. 198.18.0.0/15, the benchmarking range, as samples/lab.yaml does; `ip -4 addr` lists the machine's)");
        }
    }

    /// <summary>The prefix length of a lab host's IPv6 underlay address: every lab host shares one /64 link.</summary>
    public const int Underlay6PrefixLength = 64;

    public async Task<LabResult> DownAsync(ClusterSpec spec, CancellationToken cancellationToken)
    {
        // Agents first: one left running would act on a namespace that is gone.
        var removed = new List<string>((await new LabAgents(processes).DownAsync(spec, LabHosts(spec).ToList(), cancellationToken, forget: true).ConfigureAwait(false)).Removed);
        foreach (var host in LabHosts(spec))
        {
            var ns = ((HostConnection.Netns)host.Connection).Name;
            if (RunsOvs(spec) && StopOvs(spec, host)) removed.Add($"ovs {host.Name}");
            // A wireguard-go that an apply started and no destroy stopped would keep the deleted namespace alive.
            if (await StopWireGuardAsync(spec, host, cancellationToken).ConfigureAwait(false)) removed.Add($"wireguard-go {host.Name}");
            if (Directory.Exists(RunPaths.NetnsPrivate(ns)))
            {
                Directory.Delete(RunPaths.NetnsPrivate(ns), recursive: true);
                removed.Add($"private /run of {host.Name}");
            }
            if (await NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false))
            {
                await MustAsync(cancellationToken, "ip", "netns", "del", ns).ConfigureAwait(false);
                removed.Add($"netns {ns}");
            }
            // The root end usually goes with the namespace, but namespace teardown is asynchronous.
            var rootEnd = RootVethName(spec, host);
            if (await LinkExistsAsync(null, rootEnd, cancellationToken).ConfigureAwait(false))
            {
                var del = CommandSpec.Of("ip", "link", "del", rootEnd);
                var result = await processes.RunAsync(Root, del, cancellationToken).ConfigureAwait(false);
                if (!result.Succeeded && await LinkExistsAsync(null, rootEnd, cancellationToken).ConfigureAwait(false))
                    throw new CommandFailedException(Root, del, result);
                removed.Add($"veth {rootEnd}");
            }
        }
        var bridge = BridgeName(spec);
        if (await LinkExistsAsync(null, bridge, cancellationToken).ConfigureAwait(false))
        {
            await MustAsync(cancellationToken, "ip", "link", "del", bridge).ConfigureAwait(false);
            removed.Add($"bridge {bridge}");
        }
        return new LabResult([], removed, []);
    }

    /// <summary>Starts the host's ovsdb-server and ovs-vswitchd (inside its namespace) unless they run; true if it started any.</summary>
    private async Task<bool> StartOvsAsync(ClusterSpec spec, HostSpec host, string ns, CancellationToken cancellationToken)
    {
        var dir = OvsDirectory(spec, host);
        var socket = OvsBackend.SettingsOf(spec).DbFor(host)!;
        Directory.CreateDirectory(dir);
        var database = Path.Combine(dir, "conf.db");
        if (!File.Exists(database)) await MustAsync(cancellationToken, "ovsdb-tool", "create", database, Schema).ConfigureAwait(false);
        var started = false;
        if (RunningPid(dir, "ovsdb-server") is null)
        {
            await MustAsync(cancellationToken, "ip", ["netns", "exec", ns, "ovsdb-server", database, "--remote=p" + socket, .. DaemonOptions(dir, "ovsdb-server")]).ConfigureAwait(false);
            await MustAsync(cancellationToken, "ovs-vsctl", "--db=" + socket, "--no-wait", "init").ConfigureAwait(false);
            started = true;
        }
        if (RunningPid(dir, "ovs-vswitchd") is null)
        {
            // vswitchd runs inside the namespace: it reads that namespace's routes and devices.
            await MustAsync(cancellationToken, "ip", ["netns", "exec", ns, "ovs-vswitchd", socket, .. DaemonOptions(dir, "ovs-vswitchd")]).ConfigureAwait(false);
            started = true;
        }
        return started;
    }

    private static string[] DaemonOptions(string dir, string daemon) =>
        [$"--pidfile={Path.Combine(dir, daemon + ".pid")}", $"--unixctl={Path.Combine(dir, daemon + ".ctl")}",
         $"--log-file={Path.Combine(dir, daemon + ".log")}", "--detach", "--no-chdir"];

    /// <summary>
    /// Moves the underlay address onto <c>br-phy</c>, an OVS netdev bridge holding the interface, so userspace
    /// VXLAN ports can route and resolve the underlay. The kernel must then stop answering on the interface
    /// itself: its IPv4 input is dropped in raw PREROUTING and it ignores ARP (arp_ignore=8); and br-phy's
    /// checksum offload is off, which the userspace datapath does not complete.
    /// </summary>
    private async Task PhysicalBridgeAsync(ClusterSpec spec, HostSpec host, string ns, string iface, string address, CancellationToken cancellationToken)
    {
        var db = "--db=" + OvsBackend.SettingsOf(spec).DbFor(host);
        var link = await processes.RunAsync(Root, CommandSpec.Of("ip", "-n", ns, "-br", "link", "show", "dev", iface), cancellationToken).ConfigureAwait(false);
        var mac = link.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(2)
            ?? throw new InvalidOperationException($"{ns}: cannot read the MAC address of {iface}");
        await MustAsync(cancellationToken, "ovs-vsctl", db, "--timeout=10", "--", "--may-exist", "add-br", PhysicalBridge,
            "--", "set", "bridge", PhysicalBridge, "datapath_type=netdev", $"other_config:hwaddr=\"{mac}\"",
            "--", "--may-exist", "add-port", PhysicalBridge, iface).ConfigureAwait(false);
        await processes.RunAsync(Root, CommandSpec.Of("ip", "-n", ns, "addr", "del", address, "dev", iface), cancellationToken).ConfigureAwait(false);
        await MustAsync(cancellationToken, "ip", "-n", ns, "link", "set", PhysicalBridge, "up").ConfigureAwait(false);
        await MustAsync(cancellationToken, "ip", "netns", "exec", ns, "ethtool", "-K", PhysicalBridge, "tx", "off").ConfigureAwait(false);
        await MustAsync(cancellationToken, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", $"net.ipv4.conf.{iface}.arp_ignore=8").ConfigureAwait(false);
        string[] drop = ["PREROUTING", "-i", iface, "-j", "DROP"];
        var present = await processes.RunAsync(Root, new CommandSpec("ip", ["netns", "exec", ns, "iptables", "-w", "5", "-t", "raw", "-C", .. drop]), cancellationToken).ConfigureAwait(false);
        if (!present.Succeeded) await MustAsync(cancellationToken, "ip", ["netns", "exec", ns, "iptables", "-w", "5", "-t", "raw", "-A", .. drop]).ConfigureAwait(false);
    }

    /// <summary>Stops the host's OVS daemons by pid file and removes the files lab up made; true if anything was there.</summary>
    private static bool StopOvs(ClusterSpec spec, HostSpec host)
    {
        var dir = OvsDirectory(spec, host);
        if (!Directory.Exists(dir)) return false;
        foreach (var daemon in Daemons)
        {
            if (RunningPid(dir, daemon) is not { } pid) continue;
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        var files = Daemons.SelectMany(d => new[] { d + ".pid", d + ".ctl", d + ".log" })
            .Concat(["conf.db", ".conf.db.~lock~", Path.GetFileName(OvsBackend.SettingsOf(spec).DbFor(host)!)]);
        foreach (var file in files) File.Delete(Path.Combine(dir, file));
        if (!Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        return true;
    }

    /// <summary>The pid in a daemon's pid file if that process is alive and is the daemon.</summary>
    private static int? RunningPid(string dir, string daemon)
    {
        var pidFile = Path.Combine(dir, daemon + ".pid");
        if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid)) return null;
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return null;
        var fields = File.ReadAllText(stat);
        // "pid (comm) state ...": a zombie (Z) has exited already.
        var close = fields.LastIndexOf(')');
        var comm = fields[(fields.IndexOf('(') + 1)..close];
        return comm.StartsWith(daemon[..Math.Min(daemon.Length, 15)], StringComparison.Ordinal) && fields[close + 2] != 'Z' ? pid : null;
    }

    /// <summary>The spec's etcd endpoints that lie in the lab's underlay (and are no host's): the root must hold them for agents.</summary>
    private IEnumerable<Ipv4Address> EtcdAddresses(ClusterSpec spec)
    {
        var hosts = LabHosts(spec).Select(h => h.Address).ToHashSet();
        var underlays = hosts.Select(a => Ipv4Cidr.Containing(a, underlayPrefixLength)).ToHashSet();
        return spec.Etcd.Endpoints
            .Select(e => Ipv4Address.TryParse(e.Host, out var a) ? a : (Ipv4Address?)null)
            .OfType<Ipv4Address>()
            .Where(a => !hosts.Contains(a) && underlays.Any(u => u.Contains(a)))
            .Distinct();
    }

    private static IEnumerable<HostSpec> LabHosts(ClusterSpec spec) => spec.Hosts.Where(h => h.Connection is HostConnection.Netns);

    private async Task<bool> NamespaceExistsAsync(string ns, CancellationToken cancellationToken)
    {
        var list = await processes.RunAsync(Root, CommandSpec.Of("ip", "netns", "list"), cancellationToken).ConfigureAwait(false);
        return list.StandardOutput.Split('\n').Any(l => l.Split(' ')[0] == ns);
    }

    private async Task<bool> LinkExistsAsync(string? ns, string name, CancellationToken cancellationToken)
    {
        var command = ns is null ? CommandSpec.Of("ip", "link", "show", "dev", name) : CommandSpec.Of("ip", "-n", ns, "link", "show", "dev", name);
        return (await processes.RunAsync(Root, command, cancellationToken).ConfigureAwait(false)).Succeeded;
    }

    private async Task MustAsync(CancellationToken cancellationToken, string program, params IReadOnlyList<string> args)
    {
        var command = new CommandSpec(program, args);
        var result = await processes.RunAsync(Root, command, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw new CommandFailedException(Root, command, result);
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
