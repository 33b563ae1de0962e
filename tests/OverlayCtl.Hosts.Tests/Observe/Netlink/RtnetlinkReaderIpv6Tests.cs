using System.Net;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Observe.Netlink;
using Serilog.Core;
using Xunit.Abstractions;

namespace OverlayCtl.Hosts.Tests.Observe.Netlink;

/// <summary>
/// The rtnetlink reader's IPv6 half against <c>ip -j -6</c> and <c>bridge -j fdb</c>, on two real namespaces holding
/// what a dual-stack vxlan host has (flannel-v6.1 with its peers' neighbours, fdb entries to IPv6 destinations and
/// onlink routes of proto 211, the docker bridge's IPv6 gateway) and what ip hides (other tables, blackholes, NOARP
/// neighbours, link-local addresses); and what an agent's observation of such a host costs in processes.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection("Namespaces")]
public sealed class RtnetlinkReaderIpv6Tests : IDisposable
{
    private const string A = "ag6-r1";
    private const string B = "ag6-r2";
    private const int Peers = 300;
    private readonly ITestOutputHelper _output;

    public RtnetlinkReaderIpv6Tests(ITestOutputHelper output)
    {
        _output = output;
        RemoveNamespaces();
        try
        {
            BuildLab();
        }
        catch
        {
            RemoveNamespaces();
            throw;
        }
    }

    public void Dispose() => RemoveNamespaces();

    [Fact]
    public void TheReaderGivesTheIpv6RecordsTheParsersMakeOfIpAndBridgeOutput()
    {
        foreach (var ns in new[] { A, B })
        {
            RefreshFleetingNeighbours();
            using var reader = RtnetlinkReader.Open(ns);
            var read = reader.Read(ipv6: true);
            var v6 = Assert.IsType<Rtnetlink6Snapshot>(read.Ipv6);
            var fdb = Sh.Must("ip", "netns", "exec", ns, "bridge", "-j", "fdb", "show");
            // Sequences, order included, as for IPv4: ip prints in the kernel's dump order.
            Assert.Equal(StateParsers.ParseAddresses6(Sh.Must("ip", "-n", ns, "-j", "-6", "addr", "show")), v6.Addresses);
            Assert.Equal(StateParsers.ParseRoutes6(Sh.Must("ip", "-n", ns, "-j", "-6", "route", "show", "table", "main")), v6.Routes);
            Assert.Equal(StateParsers.ParseNeighbors6(Sh.Must("ip", "-n", ns, "-j", "-6", "neigh", "show")), v6.Neighbors);
            Assert.Equal(StateParsers.ParseFdb6(fdb), v6.Fdb);
            // The IPv4 half reads the same fdb dump: entries to an IPv6 destination are there without one.
            Assert.Equal(StateParsers.ParseFdb(fdb), read.Fdb);
            // Without ipv6 there is no IPv6 half.
            Assert.Null(reader.Read().Ipv6);
        }
    }

    [Fact]
    public void TheLabHoldsWhatTheIpv6ComparisonMustCover()
    {
        RefreshFleetingNeighbours();
        using var reader = RtnetlinkReader.Open(A);
        var v6 = reader.Read(ipv6: true).Ipv6!;
        Assert.Contains(new Address6Info("eth0", IPAddress.Parse("fd00:198:18:180::1"), 64), v6.Addresses);
        Assert.Contains(new Address6Info("docker0", IPAddress.Parse("fd00:10:180:1::1"), 64), v6.Addresses);
        Assert.Contains(new Address6Info("flannel-v6.1", IPAddress.Parse("fd00:10:180:1::"), 128), v6.Addresses);
        Assert.DoesNotContain(v6.Addresses, a => a.Address.IsIPv6LinkLocal);
        Assert.Contains(new Route6Info(null, IPAddress.Parse("fd00:198:18:180::fe"), "eth0", false, null), v6.Routes);
        Assert.Contains(new Route6Info(Ipv6.Parse("fd00:10:180:2::/64"), IPAddress.Parse("fd00:10:180:2::"), "flannel-v6.1", true, "211"), v6.Routes);
        Assert.Contains(new Route6Info(Ipv6.Parse("fd00:10:250::/48"), IPAddress.Parse("fd00:198:18:180::2"), "eth0", false, "static"), v6.Routes);
        Assert.Contains(new Route6Info(Ipv6.Parse("fd00:10:251::/48"), null, "eth0", false, "dhcp"), v6.Routes);
        Assert.Contains(new Route6Info(Ipv6.Parse("fd00:10:252::1/128"), IPAddress.Parse("fd00:198:18:180::2"), "eth0", false, null), v6.Routes);
        Assert.Contains(new Route6Info(Ipv6.Parse("fd00:198:18:180::/64"), null, "eth0", false, "kernel"), v6.Routes);
        Assert.Contains(v6.Routes, r => r.Destination == Ipv6.Parse("fd00:10:255::/48") && r.Protocol == "static");
        Assert.DoesNotContain(v6.Routes, r => r.Destination is { } d && (d.ToString() is "fd00:10:253::/48" or "fd00:10:99::/48"));
        Assert.Contains(new Neighbor6Info(IPAddress.Parse("fd00:10:180:2::"), "flannel-v6.1", MacAddress.Parse("02:00:00:00:00:02"), true), v6.Neighbors);
        Assert.Contains(new Neighbor6Info(IPAddress.Parse("fd00:198:18:180::9"), "eth0", MacAddress.Parse("02:00:00:00:00:09"), false), v6.Neighbors);
        Assert.Contains(new Neighbor6Info(IPAddress.Parse("fe80::9"), "eth0", MacAddress.Parse("02:00:00:00:00:19"), true), v6.Neighbors);
        Assert.DoesNotContain(v6.Neighbors, n => n.Address.Equals(IPAddress.Parse("fd00:198:18:180::10")));
        Assert.Contains(new Fdb6Info(MacAddress.Parse("02:00:00:00:00:02"), "flannel-v6.1", IPAddress.Parse("fd00:198:18:180::2"), true), v6.Fdb);
        Assert.Contains(new Fdb6Info(MacAddress.Parse("00:00:00:00:00:00"), "flannel-v6.1", IPAddress.Parse("fd00:198:18:180::2"), true), v6.Fdb);
        Assert.Equal(Peers + 1, v6.Routes.Count(r => r.Protocol == "211"));
        Assert.Equal(Peers + 1, v6.Neighbors.Count(n => n.Device == "flannel-v6.1" && n.Permanent));
        Assert.Equal(Peers + 2, v6.Fdb.Count(f => f.Device == "flannel-v6.1"));
    }

    [Fact]
    public async Task AnAgentsDualStackObservationReadsItsIpv6TablesInProcessAndGetsWhatTheProcessesGive()
    {
        var processes = new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20));
        var request = new ObserveRequest([], [new HostRead.Ipv6()]);
        RefreshFleetingNeighbours();
        var byProcesses = new CountingHost(new NetnsHostRunner("a", A, processes));
        var read = (await HostObserver.ObserveAsync(byProcesses, request, default)).Ipv6!;
        using var here = new NamespaceHereHost(A, processes);
        var observed = await HostObserver.ObserveAsync(here, request, default);
        var inProcess = observed.Ipv6!;
        _output.WriteLine($"processes per dual-stack observation: by processes {byProcesses.Ran.Count} ({string.Join(", ", byProcesses.Ran)}); " +
            $"on an agent's own host {here.Ran.Count} ({string.Join(", ", here.Ran)})");

        Assert.Equal(read.Addresses, inProcess.Addresses);
        Assert.Equal(read.Routes, inProcess.Routes);
        Assert.Equal(read.Neighbors, inProcess.Neighbors);
        Assert.Equal(read.Fdb, inProcess.Fdb);
        Assert.Equal(read.Ip6tables.Table("filter").Rules, inProcess.Ip6tables.Table("filter").Rules);
        Assert.Contains("-A FORWARD -s fd00:10:180::/48 -j ACCEPT", inProcess.Ip6tables.Table("filter").Rules);
        Assert.True(read.Forwarding);
        Assert.True(inProcess.Forwarding);
        // Only the two rule dumps are processes; everything else came over rtnetlink or /proc.
        Assert.Equal(new[] { "ip6tables-save", "iptables-save" }, here.Ran.Order(StringComparer.Ordinal).ToArray());
    }

    /// <summary>Runs commands as the namespace host does and counts them.</summary>
    private sealed class CountingHost(IHostRunner inner) : IHostRunner
    {
        public List<string> Ran { get; } = [];

        public string HostName => inner.HostName;

        public Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken)
        {
            lock (Ran) Ran.Add(command.ToString());
            return inner.RunAsync(command, cancellationToken);
        }

        public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => inner.ReadFileAsync(path, cancellationToken);

        public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) => inner.WriteFileAsync(path, content, backup, cancellationToken);

        public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => inner.DeleteFileAsync(path, cancellationToken);
    }

    /// <summary>
    /// The namespace as an agent inside it sees its host: its kernel over rtnetlink, processes counted. Its sysctls are
    /// the namespace's (read here by <c>ip netns exec</c>, which this process cannot do in-process for another namespace).
    /// </summary>
    private sealed class NamespaceHereHost(string netns, ProcessRunner processes) : IHostRunner, IHereHost, IDisposable
    {
        private readonly CountingHost _commands = new(new NetnsHostRunner(netns, netns, processes));

        public List<string> Ran => _commands.Ran;

        public string HostName => netns;

        public HostKernel Kernel { get; } = HostKernel.Open(netns);

        public string? Environment(string name) => null;

        public string Sysctl(string key) => Sh.Must("ip", "netns", "exec", netns, "sysctl", "-n", key).Trim();

        public Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) => _commands.RunAsync(command, cancellationToken);

        public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => _commands.ReadFileAsync(path, cancellationToken);

        public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) => _commands.WriteFileAsync(path, content, backup, cancellationToken);

        public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => _commands.DeleteFileAsync(path, cancellationToken);

        public void Dispose() => Kernel.Dispose();
    }

    private static void BuildLab()
    {
        foreach (var ns in new[] { A, B })
        {
            Sh.Must("ip", "netns", "add", ns);
            // No link-local addresses and no router solicitations: nothing the kernel adds by itself while the test compares.
            Sh.Must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=1", "net.ipv6.conf.all.addr_gen_mode=1",
                "net.ipv6.conf.default.router_solicitations=0", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.forwarding=1");
            In(ns, "link", "set", "lo", "up");
        }
        Sh.Must("ip", "-n", A, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", B);
        In(A, "addr", "add", "198.18.180.1/24", "dev", "eth0");
        In(B, "addr", "add", "198.18.180.2/24", "dev", "eth0");
        In(A, "-6", "addr", "add", "fd00:198:18:180::1/64", "dev", "eth0", "nodad");
        In(B, "-6", "addr", "add", "fd00:198:18:180::2/64", "dev", "eth0", "nodad");
        In(A, "link", "set", "eth0", "up");
        In(B, "link", "set", "eth0", "up");
        // The underlay's neighbours pinned: a route's gateway the kernel probes would otherwise appear between two reads.
        foreach (var (ns, address) in new[] { (A, "fd00:198:18:180::2"), (A, "fd00:198:18:180::3"), (A, "fd00:198:18:180::fe"), (B, "fd00:198:18:180::1") })
            In(ns, "-6", "neigh", "replace", address, "dev", "eth0", "lladdr", "02:00:00:00:01:" + address[^1..].PadLeft(2, '0'), "nud", "permanent");

        In(A, "link", "add", "docker0", "type", "bridge");
        In(A, "-6", "addr", "add", "fd00:10:180:1::1/64", "dev", "docker0", "nodad");
        In(A, "link", "set", "docker0", "up");
        In(A, "link", "add", "veth1", "type", "veth", "peer", "name", "ceth1");
        In(A, "link", "set", "veth1", "master", "docker0");
        In(A, "link", "set", "veth1", "up");

        In(A, "link", "add", "flannel-v6.1", "address", "0e:00:00:00:06:01", "mtu", "1430", "type", "vxlan", "id", "1", "local", "fd00:198:18:180::1", "dev", "eth0", "dstport", "8472", "nolearning");
        In(A, "-6", "addr", "add", "fd00:10:180:1::/128", "dev", "flannel-v6.1", "nodad");
        In(A, "link", "set", "flannel-v6.1", "alias", "overlayctl");
        In(A, "link", "set", "flannel-v6.1", "up");
        In(B, "link", "add", "flannel-v6.1", "type", "vxlan", "id", "1", "local", "fd00:198:18:180::2", "dev", "eth0", "dstport", "8472");

        In(A, "-6", "route", "add", "default", "via", "fd00:198:18:180::fe", "dev", "eth0");
        In(A, "-6", "route", "add", "fd00:10:180:2::/64", "via", "fd00:10:180:2::", "dev", "flannel-v6.1", "onlink", "proto", "211");
        In(A, "-6", "route", "add", "fd00:10:250::/48", "via", "fd00:198:18:180::2", "proto", "static");
        In(A, "-6", "route", "add", "fd00:10:251::/48", "dev", "eth0", "proto", "dhcp");
        In(A, "-6", "route", "add", "fd00:10:252::1", "via", "fd00:198:18:180::2");
        In(A, "-6", "route", "add", "fd00:10:255::/48", "proto", "static", "nexthop", "via", "fd00:198:18:180::2", "dev", "eth0", "nexthop", "via", "fd00:198:18:180::3", "dev", "eth0");
        In(A, "-6", "route", "add", "blackhole", "fd00:10:253::/48");
        In(A, "-6", "route", "add", "fd00:10:99::/48", "via", "fd00:198:18:180::2", "table", "100");

        In(A, "-6", "neigh", "add", "fd00:10:180:2::", "dev", "flannel-v6.1", "lladdr", "02:00:00:00:00:02", "nud", "permanent");
        In(A, "-6", "neigh", "add", "fe80::9", "dev", "eth0", "lladdr", "02:00:00:00:00:19", "nud", "permanent");
        In(A, "-6", "neigh", "add", "fd00:198:18:180::10", "dev", "eth0", "lladdr", "02:00:00:00:00:0a", "nud", "noarp");
        RefreshFleetingNeighbours();

        Bridge(A, "fdb", "append", "00:00:00:00:00:00", "dev", "flannel-v6.1", "dst", "fd00:198:18:180::2");
        Bridge(A, "fdb", "add", "02:00:00:00:00:02", "dev", "flannel-v6.1", "dst", "fd00:198:18:180::2", "self", "permanent");

        // Rules for the process reads to find; the comparison is of the observer's two paths.
        Sh.Must("ip", "netns", "exec", A, "ip6tables", "-A", "FORWARD", "-s", "fd00:10:180::/48", "-j", "ACCEPT");

        // Many peers, as overlayctl programs them: every IPv6 dump then spans several netlink datagrams.
        var ip = new List<string>();
        var bridge = new List<string>();
        for (var i = 0; i < Peers; i++)
        {
            var subnet = $"fd00:10:180:{0x100 + i:x}::";
            var mac = $"02:00:00:06:{i / 256:x2}:{i % 256:x2}";
            ip.Add($"neigh add {subnet} dev flannel-v6.1 lladdr {mac} nud permanent");
            ip.Add($"route add {subnet}/64 via {subnet} dev flannel-v6.1 onlink proto 211");
            bridge.Add($"fdb add {mac} dev flannel-v6.1 dst fd00:198:18:181::{i + 1:x} self permanent");
        }
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ip);
            Sh.Must("ip", "-n", A, "-batch", file);
            File.WriteAllLines(file, bridge);
            Sh.Must("ip", "netns", "exec", A, "bridge", "-batch", file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>A neighbour the kernel's state machine moves on by itself, put back just before a test reads.</summary>
    private static void RefreshFleetingNeighbours() =>
        In(A, "-6", "neigh", "replace", "fd00:198:18:180::9", "dev", "eth0", "lladdr", "02:00:00:00:00:09", "nud", "stale");

    private static void In(string ns, params string[] args) => Sh.Must("ip", ["-n", ns, .. args]);

    private static void Bridge(string ns, params string[] args) => Sh.Must("ip", ["netns", "exec", ns, "bridge", .. args]);

    private static void RemoveNamespaces()
    {
        foreach (var ns in new[] { A, B })
        {
            if (File.Exists(Path.Combine("/run/netns", ns))) Sh.Run("ip", "netns", "del", ns);
        }
    }
}
