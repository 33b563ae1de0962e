using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Execute;
using OverlayCtl.Hosts.Observe.Netlink;
using Serilog.Core;

namespace OverlayCtl.Hosts.Tests.Observe.Netlink;

/// <summary>
/// The rtnetlink writer against iproute2 itself: the same peer steps carried out by <c>ip</c>/<c>bridge</c>
/// in one namespace and by the writer in a twin leave both kernels with the same neighbours, fdb entries and
/// routes, through adds, changes and removals.
/// </summary>
[Trait("Category", "Namespaces")]
[Collection("Namespaces")]
public sealed class RtnetlinkWriterTests : IDisposable
{
    private const string ByCommand = "nlw-a";
    private const string ByWriter = "nlw-b";

    public RtnetlinkWriterTests()
    {
        RemoveNamespaces();
        try
        {
            foreach (var (ns, last) in new[] { (ByCommand, 1), (ByWriter, 2) })
            {
                Sh.Must("ip", "netns", "add", ns);
                Sh.Must("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
                Sh.Must("ip", "-n", ns, "addr", "add", $"198.18.201.{last}/24", "dev", "eth0");
                Sh.Must("ip", "-n", ns, "link", "set", "eth0", "up");
                Sh.Must("ip", "-n", ns, "link", "add", "flannel.1", "address", "0e:00:00:00:02:01", "mtu", "1450", "type", "vxlan", "id", "1",
                    "local", $"198.18.201.{last}", "dev", "eth0", "dstport", "8472", "nolearning");
                Sh.Must("ip", "-n", ns, "link", "set", "flannel.1", "up");
                // flannel-v6 over an IPv6 underlay, as a dual-stack vxlan host has it.
                Sh.Must("ip", "-n", ns, "addr", "add", $"fd00:198:18:201::{last}/64", "dev", "eth0", "nodad");
                Sh.Must("ip", "-n", ns, "link", "add", "flannel-v6.1", "address", "0e:00:00:00:06:01", "mtu", "1430", "type", "vxlan", "id", "1",
                    "local", $"fd00:198:18:201::{last}", "dev", "eth0", "dstport", "8472", "nolearning");
                Sh.Must("ip", "-n", ns, "link", "set", "flannel-v6.1", "up");
            }
        }
        catch
        {
            RemoveNamespaces();
            throw;
        }
    }

    public void Dispose() => RemoveNamespaces();

    /// <summary>A peer's VTEP address, subnet and overlay device, as the planner spells them for either family.</summary>
    private static (string Vtep, string Subnet, string Device) Peer(int peer, bool ipv6) => ipv6
        ? ($"fd00:10:244:{peer}::", $"fd00:10:244:{peer}::/64", "flannel-v6.1")
        : ($"10.244.{peer}.0", $"10.244.{peer}.0/24", "flannel.1");

    private static IReadOnlyList<Step> Join(int peer, string mac, string underlay, bool ipv6 = false)
    {
        var (vtep, subnet, device) = Peer(peer, ipv6);
        return
        [
            new IpStep(["neigh", "replace", vtep, "dev", device, "lladdr", mac, "nud", "permanent"]),
            new BridgeStep(["fdb", "replace", mac, "dev", device, "self", "dst", underlay, "permanent"]),
            new IpStep(["route", "replace", subnet, "via", vtep, "dev", device, "onlink", "proto", "211"]),
        ];
    }

    private static IReadOnlyList<Step> Leave(int peer, string mac, string underlay, bool ipv6 = false)
    {
        var (vtep, subnet, device) = Peer(peer, ipv6);
        return
        [
            new IpStep(["neigh", "del", vtep, "dev", device]),
            new BridgeStep(["fdb", "del", mac, "dev", device, "self", "dst", underlay]),
            new IpStep(["route", "del", subnet, "dev", device]),
        ];
    }

    /// <summary>
    /// Each phase's steps carried out by <c>ip</c>/<c>bridge</c> in one namespace and by the writer in its twin; after each,
    /// <paramref name="same"/> compares what the two kernels hold (the command's side first).
    /// </summary>
    private static async Task WrittenAsCommandsWriteAsync(HostKernel kernel, IReadOnlyList<IReadOnlyList<Step>> phases, Action<RtnetlinkSnapshot, RtnetlinkSnapshot> same)
    {
        var commands = new NetnsHostRunner("a", ByCommand, new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));
        foreach (var steps in phases)
        {
            Assert.All(steps, s => Assert.True(RtnetlinkWriter.CanWrite(s), s.Render()));
            await PlanExecutor.ExecuteAsync(commands, new HostPlan("a", [.. steps.Select(s => new Operation(ChangeKind.Add, ResourceAddress.Link("x"), s))]), default);
            var indexes = kernel.Reader.ReadLinks().ToDictionary(l => l.Name, l => l.Index);
            foreach (var step in steps) kernel.Writer.Write(step, name => indexes.TryGetValue(name, out var index) ? index : null);
            using var reference = RtnetlinkReader.Open(ByCommand);
            same(reference.Read(ipv6: true), kernel.Reader.Read(ipv6: true));
        }
    }

    [Fact]
    public async Task ThePeerStepsWrittenInProcessLeaveTheKernelAsIpAndBridgeDo()
    {
        using var kernel = HostKernel.Open(ByWriter);
        // Three peers join; then one changes its MAC and underlay (a host reinstalled), one leaves, and
        // a route that is not onlink and has a plain protocol is set and removed.
        await WrittenAsCommandsWriteAsync(kernel,
        [
            [.. Join(2, "0e:00:00:00:02:02", "198.18.201.12"), .. Join(3, "0e:00:00:00:02:03", "198.18.201.13"), .. Join(4, "0e:00:00:00:02:04", "198.18.201.14")],
            [.. Join(3, "0e:00:00:00:02:33", "198.18.201.33"), .. Leave(4, "0e:00:00:00:02:04", "198.18.201.14")],
            [new IpStep(["route", "replace", "10.99.0.0/16", "via", "198.18.201.254", "dev", "eth0"])],
            [new IpStep(["route", "del", "10.99.0.0/16"])],
        ], (want, got) =>
        {
            // As sets: neighbour and fdb tables are hash tables, dumped in an order each namespace seeds for itself.
            Assert.Equal(Sorted(want.Routes), Sorted(got.Routes));
            Assert.Equal(Sorted(want.Neighbors), Sorted(got.Neighbors));
            Assert.Equal(Sorted(want.Fdb.Where(f => f.Device == "flannel.1")), Sorted(got.Fdb.Where(f => f.Device == "flannel.1")));
        });
        // The last state is what the phases say, so equal kernels are not merely equally empty.
        var routes = kernel.Reader.ReadRoutes();
        Assert.Contains(new Core.State.RouteInfo(Ipv4Cidr.Parse("10.244.3.0/24"), Ipv4Address.Parse("10.244.3.0"), "flannel.1", true, "211"), routes);
        Assert.DoesNotContain(routes, r => r.Destination == Ipv4Cidr.Parse("10.244.4.0/24") || r.Destination == Ipv4Cidr.Parse("10.99.0.0/16"));
        Assert.Contains(kernel.Reader.ReadFdb(), f => f.Mac == MacAddress.Parse("0e:00:00:00:02:33") && f.Destination == Ipv4Address.Parse("198.18.201.33") && f.Self && f.Permanent);
        Assert.Contains(kernel.Reader.ReadNeighbors(), n => n.Address == Ipv4Address.Parse("10.244.3.0") && n.LinkAddress == MacAddress.Parse("0e:00:00:00:02:33") && n.Permanent);
    }

    [Fact]
    public async Task ADualStackPeersIpv6StepsWrittenInProcessLeaveTheKernelAsIpAndBridgeDo()
    {
        using var kernel = HostKernel.Open(ByWriter);
        // Three peers join over flannel-v6; one changes its MAC and address6, one leaves; a direct route (directRouting:
        // via the peer's address6 on the underlay, not onlink) is set and removed.
        await WrittenAsCommandsWriteAsync(kernel,
        [
            [.. Join(2, "0e:00:00:00:06:02", "fd00:198:18:201::12", ipv6: true), .. Join(3, "0e:00:00:00:06:03", "fd00:198:18:201::13", ipv6: true), .. Join(4, "0e:00:00:00:06:04", "fd00:198:18:201::14", ipv6: true)],
            [.. Join(3, "0e:00:00:00:06:33", "fd00:198:18:201::33", ipv6: true), .. Leave(4, "0e:00:00:00:06:04", "fd00:198:18:201::14", ipv6: true)],
            [new IpStep(["route", "replace", "fd00:10:244:5::/64", "via", "fd00:198:18:201::15", "dev", "eth0", "proto", "211"])],
            [new IpStep(["route", "del", "fd00:10:244:5::/64", "dev", "eth0"])],
        ], (wanted, read) =>
        {
            var (want, got) = (wanted.Ipv6!, read.Ipv6!);
            // Routes as the kernel keeps them (the link-local and multicast ones each device has are alike in both).
            Assert.Equal(Sorted(want.Routes), Sorted(got.Routes));
            Assert.Equal(Sorted(want.Neighbors.Where(n => n.Permanent)), Sorted(got.Neighbors.Where(n => n.Permanent)));
            Assert.Equal(Sorted(want.Fdb.Where(f => f.Device == "flannel-v6.1")), Sorted(got.Fdb.Where(f => f.Device == "flannel-v6.1")));
        });
        var last = kernel.Reader.Read(ipv6: true).Ipv6!;
        Assert.Contains(last.Routes, r => r.Destination == Ipv6.Parse("fd00:10:244:3::/64") && r.Device == "flannel-v6.1" && r.Onlink && r.Protocol == "211");
        Assert.DoesNotContain(last.Routes, r => r.Destination == Ipv6.Parse("fd00:10:244:4::/64") || r.Destination == Ipv6.Parse("fd00:10:244:5::/64"));
        Assert.Contains(last.Fdb, f => f.Mac == MacAddress.Parse("0e:00:00:00:06:33") && f.Destination.Equals(System.Net.IPAddress.Parse("fd00:198:18:201::33")) && f.Permanent);
        Assert.Contains(last.Neighbors, n => n.Address.Equals(System.Net.IPAddress.Parse("fd00:10:244:3::")) && n.LinkAddress == MacAddress.Parse("0e:00:00:00:06:33") && n.Permanent);
    }

    [Fact]
    public void WhatTheKernelRefusesIsWordedAsIproute2WordsIt()
    {
        using var kernel = HostKernel.Open(ByWriter);
        var indexes = kernel.Reader.ReadLinks().ToDictionary(l => l.Name, l => l.Index);
        int? IndexOf(string name) => indexes.TryGetValue(name, out var index) ? index : null;
        var absent = Assert.Throws<NetlinkException>(() => kernel.Writer.Write(new IpStep(["neigh", "del", "10.244.9.0", "dev", "flannel.1"]), IndexOf));
        Assert.Equal("RTNETLINK answers: No such file or directory", absent.Message);
        var device = Assert.Throws<NetlinkException>(() => kernel.Writer.Write(new IpStep(["route", "replace", "10.244.9.0/24", "via", "10.244.9.0", "dev", "nope", "onlink", "proto", "211"]), IndexOf));
        Assert.Equal("Cannot find device \"nope\"", device.Message);
    }

    [Theory]
    [InlineData("neigh replace 10.244.2.0 dev flannel.1 lladdr 0e:00:00:00:02:02", false)] // no "nud permanent": not the planner's form
    [InlineData("route replace 10.244.2.0/24 dev flannel.1", false)] // no gateway: iproute2 would pick a link scope
    [InlineData("route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 mtu 1400", false)]
    [InlineData("link set flannel.1 up", false)]
    [InlineData("route del 10.244.2.0/24 dev flannel.1 proto 211", true)]
    [InlineData("route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 proto 211", true)]
    [InlineData("route replace fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 onlink proto 211", true)]
    [InlineData("route replace fd00:10:244:2::/64 via 10.244.2.0 dev flannel-v6.1 onlink proto 211", false)] // a gateway of the other family
    [InlineData("neigh del fd00:10:244:2:: dev flannel-v6.1", true)]
    public void OnlyThePlannersOwnFormsAreWrittenInProcess(string arguments, bool writable) =>
        Assert.Equal(writable, RtnetlinkWriter.CanWrite(new IpStep(arguments.Split(' '))));

    private static List<T> Sorted<T>(IEnumerable<T> records) => [.. records.OrderBy(r => r!.ToString(), StringComparer.Ordinal)];

    private static void RemoveNamespaces()
    {
        foreach (var ns in new[] { ByCommand, ByWriter })
            if (File.Exists(Path.Combine("/run/netns", ns))) Sh.Run("ip", "netns", "del", ns);
    }
}
