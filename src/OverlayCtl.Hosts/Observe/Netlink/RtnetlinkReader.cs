using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;
using static OverlayCtl.Hosts.Observe.Netlink.AttributeValues;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>The five tables a host's network state is made of, read together (links dumped once, for every device name).</summary>
public sealed record RtnetlinkSnapshot(
    IReadOnlyList<LinkInfo> Links,
    IReadOnlyList<AddressInfo> Addresses,
    IReadOnlyList<RouteInfo> Routes,
    IReadOnlyList<NeighborInfo> Neighbors,
    IReadOnlyList<FdbInfo> Fdb)
{
    /// <summary>The IPv6 tables, when they were asked for (<see cref="RtnetlinkReader.Read(bool)"/>); null otherwise.</summary>
    public Rtnetlink6Snapshot? Ipv6 { get; init; }
}

/// <summary>
/// A host's IPv6 tables as <see cref="StateParsers"/> makes them of <c>ip -j -6 addr show</c>, <c>ip -j -6 route show
/// table main</c>, <c>ip -j -6 neigh show</c> and the IPv6 destinations of <c>bridge -j fdb show</c>.
/// </summary>
public sealed record Rtnetlink6Snapshot(
    IReadOnlyList<Address6Info> Addresses,
    IReadOnlyList<Route6Info> Routes,
    IReadOnlyList<Neighbor6Info> Neighbors,
    IReadOnlyList<Fdb6Info> Fdb);

/// <summary>
/// Reads links, IPv4 addresses, main-table IPv4 routes, IPv4 neighbours and the forwarding database
/// straight from the kernel over rtnetlink, in process, and on a dual-stack host their IPv6 twins (global
/// addresses, main-table routes, neighbours, fdb entries to an IPv6 destination). An agent observing its host every few seconds,
/// a hundred of them on two cores, cannot afford five <c>ip</c>/<c>bridge</c> processes per look.
/// The records are exactly those <see cref="StateParsers"/> makes of <c>ip -j -d link show</c>,
/// <c>ip -j -4 addr show</c>, <c>ip -j -4 route show table main</c>, <c>ip -j -4 neigh show</c> and
/// <c>bridge -j fdb show</c> (and <c>ip -j -6 addr|route|neigh</c>), in the same order: what iproute2 hides or renames is hidden or renamed
/// here too, so the planner cannot tell the two apart. One reader holds one socket; its reads are
/// serialised.
/// </summary>
public sealed class RtnetlinkReader : IDisposable
{
    private const byte AF_UNSPEC = 0;
    private const byte AF_INET = 2;
    private const byte AF_BRIDGE = 7;
    private const byte AF_INET6 = 10;
    private const ushort RTM_NEWLINK = 16;
    private const ushort RTM_GETLINK = 18;
    private const ushort RTM_NEWADDR = 20;
    private const ushort RTM_GETADDR = 22;
    private const ushort RTM_NEWROUTE = 24;
    private const ushort RTM_GETROUTE = 26;
    private const ushort RTM_NEWNEIGH = 28;
    private const ushort RTM_GETNEIGH = 30;

    private const int IFF_UP = 0x1;
    private const int IFLA_ADDRESS = 1;
    private const int IFLA_IFNAME = 3;
    private const int IFLA_MTU = 4;
    private const int IFLA_MASTER = 10;
    private const int IFLA_LINKINFO = 18;
    private const int IFLA_IFALIAS = 20;
    private const int IFLA_INFO_KIND = 1;
    private const int IFLA_INFO_DATA = 2;
    private const int IFLA_VXLAN_ID = 1;
    private const int IFLA_VXLAN_LINK = 3;
    private const int IFLA_VXLAN_LOCAL = 4;
    private const int IFLA_VXLAN_LEARNING = 7;
    private const int IFLA_VXLAN_PORT = 15;
    private const int IFLA_VXLAN_LOCAL6 = 17;
    private const int IFA_ADDRESS = 1;
    private const int IFA_LOCAL = 2;
    private const int RTA_DST = 1;
    private const int RTA_OIF = 4;
    private const int RTA_GATEWAY = 5;
    private const int RTA_TABLE = 15;
    private const byte RT_TABLE_MAIN = 254;
    private const byte RTN_UNICAST = 1;
    private const byte RTPROT_BOOT = 3;
    private const byte RT_SCOPE_UNIVERSE = 0;
    private const uint RTNH_F_ONLINK = 0x4;
    private const uint RTM_F_CLONED = 0x200;
    private const int NDA_DST = 1;
    private const int NDA_LLADDR = 2;
    private const int NUD_NOARP = 0x40;
    private const int NUD_PERMANENT = 0x80;
    private const int NTF_SELF = 0x02;
    private const int NTF_PROXY = 0x08;
    private const int NTF_EXT_LEARNED = 0x10;

    private readonly NetlinkSocket _socket;

    internal RtnetlinkReader(NetlinkSocket socket) => _socket = socket;

    /// <summary>
    /// A reader of the calling process's network namespace (<paramref name="netnsName"/> null) or of
    /// the namespace <c>ip netns</c> pinned at <c>/run/netns/NAME</c>. The socket is made inside that
    /// namespace by a short-lived thread of its own, so the caller's threads never change namespace;
    /// a name that does not exist is a <see cref="NetlinkException"/> saying so.
    /// </summary>
    public static RtnetlinkReader Open(string? netnsName) => new(NetlinkSocket.Open(netnsName));

    /// <summary>
    /// All five tables, the device names resolved from one link dump; with <paramref name="ipv6"/> their IPv6 twins
    /// too (<see cref="RtnetlinkSnapshot.Ipv6"/>), the fdb's IPv6 destinations taken from the same fdb dump.
    /// </summary>
    public RtnetlinkSnapshot Read(bool ipv6 = false)
    {
        var links = DumpLinks();
        var fdb6 = new List<Fdb6Info>();
        var snapshot = new RtnetlinkSnapshot(links.Links, Addresses(links), Routes(links), Neighbors(links), Fdb(links, fdb6));
        return ipv6 ? snapshot with { Ipv6 = new Rtnetlink6Snapshot(Addresses6(links), Routes6(links), Neighbors6(links), fdb6) } : snapshot;
    }

    // Each single-table read dumps the links too, for its device names; Read() shares one link dump.

    /// <summary>As <c>ip -j -d link show</c> read by <see cref="StateParsers.ParseLinks"/>.</summary>
    public IReadOnlyList<LinkInfo> ReadLinks() => DumpLinks().Links;

    /// <summary>As <c>ip -j -4 addr show</c> read by <see cref="StateParsers.ParseAddresses"/>.</summary>
    public IReadOnlyList<AddressInfo> ReadAddresses() => Addresses(DumpLinks());

    /// <summary>As <c>ip -j -4 route show table main</c> read by <see cref="StateParsers.ParseRoutes"/>.</summary>
    public IReadOnlyList<RouteInfo> ReadRoutes() => Routes(DumpLinks());

    /// <summary>As <c>ip -j -4 neigh show</c> read by <see cref="StateParsers.ParseNeighbors"/>.</summary>
    public IReadOnlyList<NeighborInfo> ReadNeighbors() => Neighbors(DumpLinks());

    /// <summary>As <c>bridge -j fdb show</c> read by <see cref="StateParsers.ParseFdb"/>.</summary>
    public IReadOnlyList<FdbInfo> ReadFdb() => Fdb(DumpLinks(), []);

    public void Dispose() => _socket.Dispose();

    /// <summary>The links in dump order, and every device's name and position by index.</summary>
    private sealed record LinkTable(IReadOnlyList<LinkInfo> Links, Dictionary<int, string> Names, Dictionary<int, int> Positions)
    {
        /// <summary>iproute2's <c>ll_index_to_name</c>: "*" for none, "ifN" for an index it cannot name.</summary>
        public string NameOf(int index) =>
            index == 0 ? "*" : Names.TryGetValue(index, out var name) ? name : string.Create(CultureInfo.InvariantCulture, $"if{index}");
    }

    /// <summary>One dumped link before the indexes it refers to (master, VXLAN underlay) are named.</summary>
    private sealed record RawLink(int Index, string Name, string? Kind, int Mtu, MacAddress? Mac, bool Up, int? Master, string? Alias, RawVxlan? Vxlan);

    private sealed record RawVxlan(int Id, Ipv4Address? Local, int Link, int Port, bool Learning, System.Net.IPAddress? Local6);

    private LinkTable DumpLinks()
    {
        var raw = new List<RawLink>();
        // struct ifinfomsg, all zero: every link of every type.
        Span<byte> request = stackalloc byte[16];
        request.Clear();
        request[0] = AF_UNSPEC;
        _socket.Dump(RTM_GETLINK, request, (type, payload) =>
        {
            if (type == RTM_NEWLINK && ParseLink(payload) is { } link) raw.Add(link);
        }, raw.Clear);

        var names = new Dictionary<int, string>();
        var positions = new Dictionary<int, int>();
        foreach (var link in raw)
        {
            names.TryAdd(link.Index, link.Name);
            positions.TryAdd(link.Index, positions.Count);
        }
        var table = new LinkTable([], names, positions);
        var links = raw.Select(l => new LinkInfo(
            l.Index,
            l.Name,
            l.Kind,
            l.Mtu,
            l.Mac,
            l.Up,
            l.Master is { } master ? table.NameOf(master) : null,
            l.Alias,
            l.Vxlan is { } v ? new VxlanInfo(v.Id, v.Local, v.Link != 0 ? table.NameOf(v.Link) : null, v.Port, v.Learning) { Local6 = v.Local6 } : null)).ToList();
        return table with { Links = links };
    }

    private static RawLink? ParseLink(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 16) return null;
        var index = MemoryMarshal.Read<int>(payload[4..]);
        var flags = MemoryMarshal.Read<uint>(payload[8..]);
        Span<int> slots = stackalloc int[2 * (IFLA_IFALIAS + 1)];
        var attributes = new Attributes(payload[16..], slots);
        if (!attributes.TryGet(IFLA_IFNAME, out var ifname)) return null;
        string? kind = null;
        RawVxlan? vxlan = null;
        if (attributes.TryGet(IFLA_LINKINFO, out var linkinfo))
        {
            Span<int> infoSlots = stackalloc int[2 * (IFLA_INFO_DATA + 1)];
            var info = new Attributes(linkinfo, infoSlots);
            if (info.TryGet(IFLA_INFO_KIND, out var kindValue))
            {
                kind = Text(kindValue);
                // ip prints an info_data object for a kind it knows even when the kernel sent no data.
                if (kind == "vxlan")
                {
                    Span<int> dataSlots = stackalloc int[2 * (IFLA_VXLAN_LOCAL6 + 1)];
                    var data = new Attributes(info.TryGet(IFLA_INFO_DATA, out var d) ? d : default, dataSlots);
                    vxlan = new RawVxlan(
                        data.TryGet(IFLA_VXLAN_ID, out var id) && id.Length >= 4 ? (int)MemoryMarshal.Read<uint>(id) : 0,
                        data.TryGet(IFLA_VXLAN_LOCAL, out var local) && local.Length == 4 && Address(local) is { Value: not 0 } a ? a : null,
                        data.TryGet(IFLA_VXLAN_LINK, out var underlay) && underlay.Length >= 4 ? MemoryMarshal.Read<int>(underlay) : 0,
                        data.TryGet(IFLA_VXLAN_PORT, out var port) && port.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(port) : 0,
                        data.TryGet(IFLA_VXLAN_LEARNING, out var learning) && learning.Length >= 1 && learning[0] != 0,
                        // A VXLAN device over an IPv6 underlay (flannel-v6.VNI) has its local address here instead.
                        data.TryGet(IFLA_VXLAN_LOCAL6, out var local6) && local6.Length == 16 ? new System.Net.IPAddress(local6) : null);
                }
            }
        }
        return new RawLink(
            index,
            Text(ifname),
            kind,
            attributes.TryGet(IFLA_MTU, out var mtu) && mtu.Length >= 4 ? (int)MemoryMarshal.Read<uint>(mtu) : 0,
            attributes.TryGet(IFLA_ADDRESS, out var address) ? Mac(address) : null,
            (flags & IFF_UP) != 0,
            attributes.TryGet(IFLA_MASTER, out var master) && master.Length >= 4 ? MemoryMarshal.Read<int>(master) : null,
            attributes.TryGet(IFLA_IFALIAS, out var alias) ? Text(alias) : null,
            vxlan);
    }

    /// <summary>
    /// ip prints addresses per device, devices in link dump order, each device's addresses in the
    /// order the kernel dumped them; an address on a device the link dump did not see is not printed.
    /// </summary>
    private List<AddressInfo> Addresses(LinkTable links) =>
        DumpAddresses(links, AF_INET, (device, local, prefix, _) => new AddressInfo(device, new InterfaceAddress(Address(local), prefix)));

    /// <summary>As <see cref="Addresses"/> for IPv6, global scope only (what the parser keeps: not the kernel's link-local ones).</summary>
    private List<Address6Info> Addresses6(LinkTable links) =>
        DumpAddresses(links, AF_INET6, (device, local, prefix, scope) => scope == RT_SCOPE_UNIVERSE ? new Address6Info(device, new System.Net.IPAddress(local), prefix) : null);

    private delegate T? AddressOf<T>(string device, ReadOnlySpan<byte> local, byte prefix, byte scope);

    /// <summary>One family's address dump (IFA_LOCAL, else IFA_ADDRESS, as ip's "local"), grouped by device in link order.</summary>
    private List<T> DumpAddresses<T>(LinkTable links, byte family, AddressOf<T> make) where T : class
    {
        var found = new List<(int Position, T Address)>();
        var size = family == AF_INET ? 4 : 16;
        // struct ifaddrmsg: the family, no filter.
        Span<byte> request = stackalloc byte[8];
        request.Clear();
        request[0] = family;
        _socket.Dump(RTM_GETADDR, request, (type, payload) =>
        {
            if (type != RTM_NEWADDR || payload.Length < 8 || payload[0] != family) return;
            var index = (int)MemoryMarshal.Read<uint>(payload[4..]);
            if (!links.Names.TryGetValue(index, out var device)) return;
            Span<int> slots = stackalloc int[2 * (IFA_LOCAL + 1)];
            var attributes = new Attributes(payload[8..], slots);
            if (!attributes.TryGet(IFA_LOCAL, out var local) && !attributes.TryGet(IFA_ADDRESS, out local)) return;
            if (local.Length != size || make(device, local, payload[1], payload[3]) is not { } address) return;
            found.Add((links.Positions[index], address));
        }, found.Clear);
        // OrderBy is stable: within a device, the kernel's order stays.
        return found.OrderBy(f => f.Position).Select(f => f.Address).ToList();
    }

    /// <summary>
    /// ip's table filter (RTA_TABLE, else rtm_table), no cloned (cache) routes, only unicast (ip prints
    /// a "type" for any other, which the parser skips), and "proto boot" unprinted, as ip does without -d.
    /// </summary>
    private List<RouteInfo> Routes(LinkTable links) =>
        DumpRoutes(links, AF_INET, (dst, length, gateway, device, onlink, protocol) =>
        {
            Ipv4Cidr? destination = null;
            if (dst.Length > 0)
            {
                // ip prints "a.b.c.d/n" (a host route without "/32"): a network with host bits set is not one the parser takes.
                if (!TryNetwork(Address(dst), length, out var network)) return null;
                destination = network;
            }
            return new RouteInfo(destination, gateway.Length == 4 ? Address(gateway) : null, device, onlink, protocol);
        });

    /// <summary>As <see cref="Routes"/> for IPv6 (a host route is printed without "/128", which the parser adds back).</summary>
    private List<Route6Info> Routes6(LinkTable links) =>
        DumpRoutes(links, AF_INET6, (dst, length, gateway, device, onlink, protocol) =>
        {
            System.Net.IPNetwork? destination = null;
            if (dst.Length > 0)
            {
                var address = new System.Net.IPAddress(dst);
                if (!Ipv6.Containing(address, length).BaseAddress.Equals(address)) return null;
                destination = new System.Net.IPNetwork(address, length);
            }
            return new Route6Info(destination, gateway.Length == 16 ? new System.Net.IPAddress(gateway) : null, device, onlink, protocol);
        });

    /// <summary>A route's fields as the parser reads them: RTA_DST (empty for default), RTA_GATEWAY (empty if none).</summary>
    private delegate T? RouteOf<T>(ReadOnlySpan<byte> dst, byte length, ReadOnlySpan<byte> gateway, string? device, bool onlink, string? protocol);

    private List<T> DumpRoutes<T>(LinkTable links, byte family, RouteOf<T> make) where T : class
    {
        var routes = new List<T>();
        var size = family == AF_INET ? 4 : 16;
        // struct rtmsg: the family; the table is filtered here (the kernel filters only in strict mode).
        Span<byte> request = stackalloc byte[12];
        request.Clear();
        request[0] = family;
        _socket.Dump(RTM_GETROUTE, request, (type, payload) =>
        {
            if (type != RTM_NEWROUTE || payload.Length < 12 || payload[0] != family) return;
            var dstLength = payload[1];
            var protocol = payload[5];
            var routeType = payload[7];
            var flags = MemoryMarshal.Read<uint>(payload[8..]);
            Span<int> slots = stackalloc int[2 * (RTA_TABLE + 1)];
            var attributes = new Attributes(payload[12..], slots);
            var table = attributes.TryGet(RTA_TABLE, out var t) && t.Length >= 4 ? MemoryMarshal.Read<uint>(t) : payload[4];
            if (table != RT_TABLE_MAIN || (flags & RTM_F_CLONED) != 0 || routeType != RTN_UNICAST) return;
            scoped ReadOnlySpan<byte> dst = default;
            if (attributes.TryGet(RTA_DST, out var d))
            {
                if (d.Length != size || dstLength > 8 * size) return;
                dst = d;
            }
            // No RTA_DST and a length: ip prints "0/N", which the parser skips.
            else if (dstLength != 0) return;
            var gateway = attributes.TryGet(RTA_GATEWAY, out var g) && g.Length == size ? g : default;
            var device = attributes.TryGet(RTA_OIF, out var oif) && oif.Length >= 4 ? links.NameOf(MemoryMarshal.Read<int>(oif)) : null;
            if (make(dst, dstLength, gateway, device, (flags & RTNH_F_ONLINK) != 0, protocol == RTPROT_BOOT ? null : RouteProtocols.Name(protocol)) is { } route)
                routes.Add(route);
        }, routes.Clear);
        return routes;
    }

    /// <summary>
    /// ip neigh show hides an entry whose state is NOARP or NONE only (it shows FAILED and INCOMPLETE),
    /// unless it is a proxy or externally learned one; the parser needs an address and a device.
    /// </summary>
    private List<NeighborInfo> Neighbors(LinkTable links) =>
        DumpNeighbors(links, AF_INET, (dst, device, mac, permanent) => new NeighborInfo(Address(dst), device, mac, permanent));

    /// <summary>As <see cref="Neighbors"/> for IPv6 (link-local neighbours included, as ip prints them).</summary>
    private List<Neighbor6Info> Neighbors6(LinkTable links) =>
        DumpNeighbors(links, AF_INET6, (dst, device, mac, permanent) => new Neighbor6Info(new System.Net.IPAddress(dst), device, mac, permanent));

    private delegate T NeighborOf<T>(ReadOnlySpan<byte> dst, string device, MacAddress? mac, bool permanent);

    private List<T> DumpNeighbors<T>(LinkTable links, byte family, NeighborOf<T> make)
    {
        var neighbors = new List<T>();
        var size = family == AF_INET ? 4 : 16;
        Span<byte> request = stackalloc byte[12];
        request.Clear();
        request[0] = family;
        _socket.Dump(RTM_GETNEIGH, request, (type, payload) =>
        {
            if (type != RTM_NEWNEIGH || payload.Length < 12 || payload[0] != family) return;
            var index = MemoryMarshal.Read<int>(payload[4..]);
            var state = MemoryMarshal.Read<ushort>(payload[8..]);
            var flags = payload[10];
            if ((state & (0xFF & ~NUD_NOARP)) == 0 && (flags & (NTF_PROXY | NTF_EXT_LEARNED)) == 0) return;
            if (index == 0) return;
            Span<int> slots = stackalloc int[2 * (NDA_LLADDR + 1)];
            var attributes = new Attributes(payload[12..], slots);
            if (!attributes.TryGet(NDA_DST, out var dst) || dst.Length != size) return;
            neighbors.Add(make(dst, links.NameOf(index), attributes.TryGet(NDA_LLADDR, out var lladdr) ? Mac(lladdr) : null, (state & NUD_PERMANENT) != 0));
        }, neighbors.Clear);
        return neighbors;
    }

    /// <summary>
    /// bridge fdb show prints every entry the AF_BRIDGE dump returns (the bridge's own, with NTF_MASTER,
    /// and each device's, with NTF_SELF, vlan entries included); its state word is "permanent" for NUD_PERMANENT.
    /// The device entries that send to an IPv6 address (a VXLAN device over IPv6) also go to <paramref name="fdb6"/>,
    /// as <see cref="StateParsers.ParseFdb6"/> reads them from the same output.
    /// </summary>
    private List<FdbInfo> Fdb(LinkTable links, List<Fdb6Info> fdb6)
    {
        var entries = new List<FdbInfo>();
        // struct ndmsg, family AF_BRIDGE, exactly its size: no bridge or port filter.
        Span<byte> request = stackalloc byte[12];
        request.Clear();
        request[0] = AF_BRIDGE;
        _socket.Dump(RTM_GETNEIGH, request, (type, payload) =>
        {
            if (type != RTM_NEWNEIGH || payload.Length < 12 || payload[0] != AF_BRIDGE) return;
            var index = MemoryMarshal.Read<int>(payload[4..]);
            var state = MemoryMarshal.Read<ushort>(payload[8..]);
            var flags = payload[10];
            if (index == 0) return;
            Span<int> slots = stackalloc int[2 * (NDA_LLADDR + 1)];
            var attributes = new Attributes(payload[12..], slots);
            if (!attributes.TryGet(NDA_LLADDR, out var lladdr) || Mac(lladdr) is not { } mac) return;
            var hasDst = attributes.TryGet(NDA_DST, out var dst);
            entries.Add(new FdbInfo(
                mac,
                links.NameOf(index),
                hasDst && dst.Length == 4 ? Address(dst) : null,
                (flags & NTF_SELF) != 0,
                (state & NUD_PERMANENT) != 0));
            if (hasDst && dst.Length == 16 && (flags & NTF_SELF) != 0)
                fdb6.Add(new Fdb6Info(mac, links.NameOf(index), new System.Net.IPAddress(dst), (state & NUD_PERMANENT) != 0));
        }, () =>
        {
            entries.Clear();
            fdb6.Clear();
        });
        return entries;
    }

    private static bool TryNetwork(Ipv4Address address, int length, out Ipv4Cidr network)
    {
        network = default;
        if ((address.Value & ~Ipv4Cidr.MaskOf(length)) != 0) return false;
        network = new Ipv4Cidr(address, length);
        return true;
    }
}
