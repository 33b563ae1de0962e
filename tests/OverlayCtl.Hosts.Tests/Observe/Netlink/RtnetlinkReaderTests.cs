using System.Diagnostics;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Observe.Netlink;
using Xunit.Abstractions;

namespace OverlayCtl.Hosts.Tests.Observe.Netlink;

/// <summary>
/// The rtnetlink reader against iproute2 itself, on two real namespaces holding what an overlayctl host
/// has (a docker bridge with ports, flannel.1 with its peers' neighbours and fdb entries, routes of every
/// protocol) and what ip or bridge hides (other tables, blackholes, NOARP neighbours).
/// </summary>
[Trait("Category", "Namespaces")]
[Collection("Namespaces")]
public sealed class RtnetlinkReaderTests : IDisposable
{
    private const string A = "nlr-a";
    private const string B = "nlr-b";
    private const int Peers = 500;
    private readonly ITestOutputHelper _output;

    public RtnetlinkReaderTests(ITestOutputHelper output)
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
    public void TheReaderGivesTheRecordsTheParsersMakeOfIpAndBridgeOutput()
    {
        RefreshFleetingNeighbours();
        foreach (var ns in new[] { A, B })
        {
            using var reader = RtnetlinkReader.Open(ns);
            var read = reader.Read();
            var parsed = Parsed(ns);
            // Compared as sequences, order included: ip and bridge print in the kernel's dump order
            // (addresses grouped by device in link order), and nothing in the lab changes between the two reads.
            Assert.Equal(parsed.Links, read.Links);
            Assert.Equal(parsed.Addresses, read.Addresses);
            Assert.Equal(parsed.Routes, read.Routes);
            Assert.Equal(parsed.Neighbors, read.Neighbors);
            Assert.Equal(parsed.Fdb, read.Fdb);
            // The single-table reads are the same as the snapshot's.
            Assert.Equal(read.Links, reader.ReadLinks());
            Assert.Equal(read.Addresses, reader.ReadAddresses());
            Assert.Equal(read.Routes, reader.ReadRoutes());
            Assert.Equal(read.Neighbors, reader.ReadNeighbors());
            Assert.Equal(read.Fdb, reader.ReadFdb());
        }
    }

    [Fact]
    public void TheLabHoldsWhatTheComparisonMustCover()
    {
        // Equal lists prove little if they are empty or lack a field: these are the values the lab was built with.
        RefreshFleetingNeighbours();
        using var reader = RtnetlinkReader.Open(A);
        var read = reader.Read();
        var flannel = Assert.Single(read.Links, l => l.Name == "flannel.1");
        Assert.Equal(new LinkInfo(flannel.Index, "flannel.1", "vxlan", 1450, MacAddress.Parse("0e:00:00:00:01:01"), true, null, "overlayctl",
            new VxlanInfo(1, Ipv4Address.Parse("198.18.200.1"), "eth0", 8472, false)), flannel);
        Assert.Equal("docker0", Assert.Single(read.Links, l => l.Name == "veth1").Master);
        Assert.Equal("bridge", Assert.Single(read.Links, l => l.Name == "docker0").Kind);
        Assert.Null(Assert.Single(read.Links, l => l.Name == "lo").Kind);
        Assert.Contains(new AddressInfo("flannel.1", new InterfaceAddress(Ipv4Address.Parse("10.244.1.0"), 32)), read.Addresses);
        Assert.Contains(new AddressInfo("docker0", new InterfaceAddress(Ipv4Address.Parse("10.244.1.1"), 24)), read.Addresses);
        Assert.Contains(new RouteInfo(null, Ipv4Address.Parse("198.18.200.254"), "eth0", false, null), read.Routes);
        Assert.Contains(new RouteInfo(Ipv4Cidr.Parse("10.244.2.0/24"), Ipv4Address.Parse("10.244.2.0"), "flannel.1", true, "211"), read.Routes);
        Assert.Contains(new RouteInfo(Ipv4Cidr.Parse("10.250.0.0/16"), Ipv4Address.Parse("198.18.200.2"), "eth0", false, "static"), read.Routes);
        Assert.Contains(new RouteInfo(Ipv4Cidr.Parse("10.251.0.0/16"), null, "eth0", false, "dhcp"), read.Routes);
        Assert.Contains(new RouteInfo(Ipv4Cidr.Parse("10.252.0.1/32"), Ipv4Address.Parse("198.18.200.2"), "eth0", false, null), read.Routes);
        Assert.Contains(new RouteInfo(Ipv4Cidr.Parse("198.18.200.0/24"), null, "eth0", false, "kernel"), read.Routes);
        Assert.Contains(new RouteInfo(Ipv4Cidr.Parse("10.255.0.0/16"), null, null, false, "static"), read.Routes);
        Assert.DoesNotContain(read.Routes, r => r.Destination is { } d && (d.ToString() is "10.253.0.0/16" or "10.254.0.0/16" or "10.99.0.0/16" or "10.98.0.0/16"));
        Assert.Contains(new NeighborInfo(Ipv4Address.Parse("10.244.2.0"), "flannel.1", MacAddress.Parse("02:00:00:00:00:02"), true), read.Neighbors);
        Assert.Contains(new NeighborInfo(Ipv4Address.Parse("198.18.200.9"), "eth0", MacAddress.Parse("02:00:00:00:00:09"), false), read.Neighbors);
        Assert.DoesNotContain(read.Neighbors, n => n.Address == Ipv4Address.Parse("198.18.200.10"));
        Assert.Contains(new NeighborInfo(Ipv4Address.Parse("198.18.200.11"), "eth0", null, false), read.Neighbors);
        Assert.Contains(new NeighborInfo(Ipv4Address.Parse("198.18.200.12"), "eth0", null, false), read.Neighbors);
        Assert.DoesNotContain(read.Neighbors, n => n.Address == Ipv4Address.Parse("198.18.200.13"));
        Assert.Equal(2, read.Fdb.Count(f => f.Mac == MacAddress.Parse("00:00:00:00:00:00") && f.Device == "flannel.1" && f.Self && f.Permanent));
        Assert.Contains(new FdbInfo(MacAddress.Parse("02:00:00:00:00:02"), "flannel.1", Ipv4Address.Parse("198.18.200.2"), true, true), read.Fdb);
        Assert.Contains(new FdbInfo(MacAddress.Parse("02:00:00:00:00:07"), "veth1", null, false, false), read.Fdb);
        Assert.Equal(Peers, read.Routes.Count(r => r.Protocol == "211") - 1);
        Assert.Equal(Peers + 1, read.Fdb.Count(f => f.Device == "flannel.1" && f.Destination is not null && f.Mac != MacAddress.Parse("00:00:00:00:00:00")));
    }

    [Fact]
    public void OpeningANamespaceLeavesTheCallingThreadInItsOwn()
    {
        var before = NamespaceOfThisThread();
        using (var reader = RtnetlinkReader.Open(A))
        {
            Assert.Equal(before, NamespaceOfThisThread());
            Assert.Contains(reader.ReadAddresses(), a => a.Address.ToString() == "198.18.200.1/24");
        }
        Assert.Equal(before, NamespaceOfThisThread());
        Assert.Equal(before, new FileInfo("/proc/self/ns/net").LinkTarget);
        using var local = RtnetlinkReader.Open(null);
        Assert.DoesNotContain(local.ReadAddresses(), a => a.Address.ToString() == "198.18.200.1/24");
    }

    [Fact]
    public void AMissingNamespaceIsAnErrorNamingIt()
    {
        var e = Assert.Throws<NetlinkException>(() => RtnetlinkReader.Open("nlr-absent"));
        Assert.Contains("network namespace 'nlr-absent' does not exist", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => RtnetlinkReader.Open("../etc"));
    }

    [Fact]
    public async Task NetlinkReadsAreMeasuredAgainstTheFiveProcesses()
    {
        // nlr-b is a small host (a veth and a vxlan device); nlr-a has the 500 peers.
        foreach (var ns in new[] { B, A })
        {
            const int Rounds = 100;
            using (var warm = RtnetlinkReader.Open(ns)) warm.Read();
            var clock = Stopwatch.StartNew();
            using (var reader = RtnetlinkReader.Open(ns))
            {
                for (var i = 0; i < Rounds; i++) reader.Read();
            }
            var oneReader = clock.Elapsed;
            clock.Restart();
            for (var i = 0; i < Rounds; i++)
            {
                using var reader = RtnetlinkReader.Open(ns);
                reader.Read();
            }
            var readerEach = clock.Elapsed;
            clock.Restart();
            for (var i = 0; i < Rounds; i++)
            {
                // As HostObserver runs them: the five at once. `ip -n` enters the namespace itself, as cheap as running inside it.
                await Task.WhenAll(
                    RunAsync("ip", "-n", ns, "-j", "-d", "link", "show"),
                    RunAsync("ip", "-n", ns, "-j", "-4", "addr", "show"),
                    RunAsync("ip", "-n", ns, "-j", "-4", "route", "show", "table", "main"),
                    RunAsync("ip", "-n", ns, "-j", "-4", "neigh", "show"),
                    RunAsync("bridge", "-n", ns, "-j", "fdb", "show"));
            }
            var processes = clock.Elapsed;
            clock.Restart();
            for (var i = 0; i < Rounds; i++) Parsed(ns, "-n");
            var processesParsed = clock.Elapsed;
            _output.WriteLine($"{ns}, {Rounds} full reads: one reader {oneReader.TotalMilliseconds:F0} ms, a new reader each time {readerEach.TotalMilliseconds:F0} ms; " +
                $"the five processes at once {processes.TotalMilliseconds:F0} ms, one after another and parsed {processesParsed.TotalMilliseconds:F0} ms");
        }
    }

    /// <summary>A process run without blocking a pool thread, as the host runners do (blocking five at once starves the pool on two cores).</summary>
    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{program} exited {process.ExitCode}");
    }

    private static RtnetlinkSnapshot Parsed(string ns) => new(
        StateParsers.ParseLinks(Sh.Must("ip", "netns", "exec", ns, "ip", "-j", "-d", "link", "show")),
        StateParsers.ParseAddresses(Sh.Must("ip", "netns", "exec", ns, "ip", "-j", "-4", "addr", "show")),
        StateParsers.ParseRoutes(Sh.Must("ip", "netns", "exec", ns, "ip", "-j", "-4", "route", "show", "table", "main")),
        StateParsers.ParseNeighbors(Sh.Must("ip", "netns", "exec", ns, "ip", "-j", "-4", "neigh", "show")),
        StateParsers.ParseFdb(Sh.Must("ip", "netns", "exec", ns, "bridge", "-j", "fdb", "show")));

    /// <summary>As <see cref="Parsed(string)"/> with <c>ip -n</c> and <c>bridge -n</c>, which enter the namespace themselves.</summary>
    private static RtnetlinkSnapshot Parsed(string ns, string viaOption) => new(
        StateParsers.ParseLinks(Sh.Must("ip", viaOption, ns, "-j", "-d", "link", "show")),
        StateParsers.ParseAddresses(Sh.Must("ip", viaOption, ns, "-j", "-4", "addr", "show")),
        StateParsers.ParseRoutes(Sh.Must("ip", viaOption, ns, "-j", "-4", "route", "show", "table", "main")),
        StateParsers.ParseNeighbors(Sh.Must("ip", viaOption, ns, "-j", "-4", "neigh", "show")),
        StateParsers.ParseFdb(Sh.Must("bridge", viaOption, ns, "-j", "fdb", "show")));

    private static string? NamespaceOfThisThread() => new FileInfo("/proc/thread-self/ns/net").LinkTarget;

    private static void BuildLab()
    {
        foreach (var ns in new[] { A, B })
        {
            Sh.Must("ip", "netns", "add", ns);
            // No IPv6: no router solicitations for the bridge to learn from while the test compares.
            Sh.Must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            In(ns, "link", "set", "lo", "up");
        }
        Sh.Must("ip", "-n", A, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", B);
        In(A, "addr", "add", "198.18.200.1/24", "dev", "eth0");
        In(B, "addr", "add", "198.18.200.2/24", "dev", "eth0");
        In(A, "link", "set", "eth0", "up");
        In(B, "link", "set", "eth0", "up");

        In(A, "link", "add", "docker0", "type", "bridge");
        In(A, "addr", "add", "10.244.1.1/24", "dev", "docker0");
        In(A, "link", "set", "docker0", "up");
        In(A, "link", "add", "veth1", "type", "veth", "peer", "name", "ceth1");
        In(A, "link", "set", "veth1", "master", "docker0");
        In(A, "link", "set", "veth1", "up");
        // A port left down (this kernel has no dummy devices).
        In(A, "link", "add", "veth2", "type", "veth", "peer", "name", "ceth2");
        In(A, "link", "set", "veth2", "master", "docker0");

        In(A, "link", "add", "flannel.1", "address", "0e:00:00:00:01:01", "mtu", "1450", "type", "vxlan", "id", "1", "local", "198.18.200.1", "dev", "eth0", "dstport", "8472", "nolearning");
        In(A, "addr", "add", "10.244.1.0/32", "dev", "flannel.1");
        In(A, "link", "set", "flannel.1", "alias", "overlayctl");
        In(A, "link", "set", "flannel.1", "up");
        In(B, "link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "198.18.200.2", "dev", "eth0", "dstport", "8472");

        In(A, "route", "add", "default", "via", "198.18.200.254", "dev", "eth0");
        In(A, "route", "add", "10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink", "proto", "211");
        In(A, "route", "add", "10.250.0.0/16", "via", "198.18.200.2", "proto", "static");
        In(A, "route", "add", "10.251.0.0/16", "dev", "eth0", "proto", "dhcp");
        In(A, "route", "add", "10.252.0.1", "via", "198.18.200.2");
        In(A, "route", "add", "10.255.0.0/16", "proto", "static", "nexthop", "via", "198.18.200.2", "nexthop", "via", "198.18.200.3");
        In(A, "route", "add", "blackhole", "10.253.0.0/16");
        In(A, "route", "add", "unreachable", "10.254.0.0/16");
        In(A, "route", "add", "10.99.0.0/16", "via", "198.18.200.2", "table", "100");
        In(A, "route", "add", "10.98.0.0/16", "via", "198.18.200.2", "table", "1000");

        In(A, "neigh", "add", "10.244.2.0", "dev", "flannel.1", "lladdr", "02:00:00:00:00:02", "nud", "permanent");
        In(A, "neigh", "add", "10.244.3.0", "dev", "flannel.1", "lladdr", "02:00:00:00:00:03", "nud", "permanent");
        In(A, "neigh", "add", "198.18.200.10", "dev", "eth0", "lladdr", "02:00:00:00:00:0a", "nud", "noarp");
        In(A, "neigh", "add", "198.18.200.13", "dev", "eth0", "nud", "none");
        RefreshFleetingNeighbours();

        Bridge(A, "fdb", "append", "00:00:00:00:00:00", "dev", "flannel.1", "dst", "198.18.200.2");
        Bridge(A, "fdb", "append", "00:00:00:00:00:00", "dev", "flannel.1", "dst", "198.18.200.3");
        Bridge(A, "fdb", "add", "02:00:00:00:00:02", "dev", "flannel.1", "dst", "198.18.200.2", "self", "permanent");
        Bridge(A, "fdb", "add", "02:00:00:00:00:07", "dev", "veth1", "master", "static");

        // Many peers, as flannel programs them: every dump then spans several netlink datagrams.
        var ip = new List<string>();
        var bridge = new List<string>();
        for (var i = 0; i < Peers; i++)
        {
            var subnet = $"10.{100 + (i / 250)}.{i % 250}.0";
            var mac = $"02:00:00:01:{i / 256:x2}:{i % 256:x2}";
            ip.Add($"neigh add {subnet} dev flannel.1 lladdr {mac} nud permanent");
            ip.Add($"route add {subnet}/24 via {subnet} dev flannel.1 onlink proto 211");
            bridge.Add($"fdb add {mac} dev flannel.1 dst 198.18.{201 + (i / 250)}.{1 + (i % 250)} self permanent");
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

    /// <summary>
    /// The neighbours the kernel's state machine moves on by itself (an incomplete one probes and fails, a failed one
    /// is garbage-collected, sooner with the lab's 500 peers above gc_thresh1), put back just before a test reads.
    /// </summary>
    private static void RefreshFleetingNeighbours()
    {
        In(A, "neigh", "replace", "198.18.200.9", "dev", "eth0", "lladdr", "02:00:00:00:00:09", "nud", "stale");
        In(A, "neigh", "replace", "198.18.200.11", "dev", "eth0", "nud", "incomplete");
        In(A, "neigh", "replace", "198.18.200.12", "dev", "eth0", "nud", "failed");
    }

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
