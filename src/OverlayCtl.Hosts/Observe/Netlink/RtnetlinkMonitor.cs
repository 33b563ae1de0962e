using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using static OverlayCtl.Hosts.Observe.Netlink.AttributeValues;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>
/// The kernel's link, neighbour, IPv4 address and IPv4 route notifications (and on a dual-stack host the
/// IPv6 ones), read in process instead of from an <c>ip -4 monitor link address route neigh</c> child: nothing to start, restart or kill, and
/// nothing left behind to keep a deleted namespace alive. Each notification becomes the headline
/// <c>ip monitor</c> prints for it ("Deleted " first for a removal), so
/// <see cref="KernelMonitor.IsRelevant"/> judges these lines as it judges ip's; ip's continuation lines
/// ("    link/ether ...", "valid_lft ...") are not produced, and rarely used details (a route's nexthops,
/// an address's peer and lifetimes) are left out of the headline. Forwarding database changes (an fdb entry
/// of a VXLAN device, either family's destination) become <c>bridge monitor fdb</c>'s headline,
/// <c>[Deleted ]MAC dev DEV [dst ADDRESS] [self] [master BRIDGE] [permanent|static]</c>, so a removed peer
/// entry wakes an agent as a removed neighbour does; IPv6 lines are ip's <c>inet6</c> and IPv6 forms.
/// </summary>
public static class RtnetlinkMonitor
{
    /// <summary>Written when the kernel dropped notifications (receive buffer overrun): the caller should read everything again.</summary>
    public const string Overrun = NetlinkSocket.Overrun;

    private const int RTMGRP_LINK = 0x1;
    private const int RTMGRP_NEIGH = 0x4;
    private const int RTMGRP_IPV4_IFADDR = 0x10;
    private const int RTMGRP_IPV4_ROUTE = 0x40;
    private const int RTMGRP_IPV6_IFADDR = 0x100;
    private const int RTMGRP_IPV6_ROUTE = 0x400;
    private const ushort RTM_NEWLINK = 16;
    private const ushort RTM_DELLINK = 17;
    private const ushort RTM_NEWADDR = 20;
    private const ushort RTM_DELADDR = 21;
    private const ushort RTM_NEWROUTE = 24;
    private const ushort RTM_DELROUTE = 25;
    private const ushort RTM_NEWNEIGH = 28;
    private const ushort RTM_DELNEIGH = 29;
    private const byte AF_INET = 2;
    private const byte AF_BRIDGE = 7;
    private const byte AF_INET6 = 10;

    /// <summary>
    /// Lines until cancelled, for the calling process's namespace (<paramref name="netnsName"/> null) or
    /// <c>/run/netns/NAME</c>. The subscription is in place when the first <c>MoveNextAsync</c> starts
    /// waiting, and the sockets are closed however the enumeration ends. With <paramref name="ipv6"/> (a dual-stack
    /// host) IPv6 addresses, routes and neighbours are followed too; without, IPv6 traffic (link-local addresses,
    /// neighbour discovery) never wakes an IPv4-only agent.
    /// </summary>
    public static async IAsyncEnumerable<string> WatchAsync(string? netnsName, [EnumeratorCancellation] CancellationToken cancellationToken, bool ipv6 = false)
    {
        // Subscribed before the names are read, so no device is missed between the two.
        var groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | (ipv6 ? RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE : 0);
        using var notifications = NetlinkSocket.Open(netnsName, groups);
        using var reader = RtnetlinkReader.Open(netnsName);
        var names = new Names(reader);
        await foreach (var line in notifications.NotificationsAsync((type, payload) => Format(type, payload, names, ipv6), cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>ip monitor's headline for one notification; null for what <c>ip -4 monitor</c> (with <paramref name="ipv6"/>, <c>ip monitor</c>) does not print.</summary>
    internal static string? Format(ushort type, ReadOnlySpan<byte> payload, Names names, bool ipv6 = false) => type switch
    {
        _ when payload.Length > 0 && payload[0] == AF_INET6 && !ipv6 && type != RTM_NEWLINK && type != RTM_DELLINK => null,
        RTM_NEWLINK or RTM_DELLINK => Link(type == RTM_DELLINK, payload, names),
        RTM_NEWADDR or RTM_DELADDR => InterfaceAddress(type == RTM_DELADDR, payload, names),
        RTM_NEWROUTE or RTM_DELROUTE => Route(type == RTM_DELROUTE, payload, names),
        (RTM_NEWNEIGH or RTM_DELNEIGH) when payload.Length > 0 && payload[0] == AF_BRIDGE => FdbEntry(type == RTM_DELNEIGH, payload, names),
        RTM_NEWNEIGH or RTM_DELNEIGH => Neighbour(type == RTM_DELNEIGH, payload, names),
        _ => null,
    };

    /// <summary>An address of either family as ip prints it (4 or 16 bytes); null for another length.</summary>
    private static string? Ip(ReadOnlySpan<byte> value) => value.Length switch
    {
        4 => Address(value).ToString(),
        16 => new System.Net.IPAddress(value).ToString(),
        _ => null,
    };

    /// <summary>"[Deleted ]02:00:00:00:00:02 dev flannel-v6.1 dst fd00:198:18::12 self permanent", as <c>bridge monitor fdb</c>.</summary>
    private static string? FdbEntry(bool deleted, ReadOnlySpan<byte> payload, Names names)
    {
        if (payload.Length < 12) return null;
        var index = MemoryMarshal.Read<int>(payload[4..]);
        var state = MemoryMarshal.Read<ushort>(payload[8..]);
        var flags = payload[10];
        Span<int> slots = stackalloc int[2 * 10];
        var attributes = new Attributes(payload[12..], slots);
        if (!attributes.TryGet(2, out var lladdr) || Mac(lladdr) is not { } mac) return null;
        var line = new StringBuilder();
        if (deleted) line.Append("Deleted ");
        line.Append(mac.ToString());
        if (index != 0) line.Append(" dev ").Append(names.NameOf(index));
        if (attributes.TryGet(1, out var dst) && Ip(dst) is { } destination) line.Append(" dst ").Append(destination);
        if ((flags & 0x02) != 0) line.Append(" self");
        if (attributes.TryGet(9, out var master) && master.Length >= 4) line.Append(" master ").Append(names.NameOf(MemoryMarshal.Read<int>(master)));
        if ((state & 0x80) != 0) line.Append(" permanent");
        else if ((state & 0x40) != 0) line.Append(" static");
        else if ((state & 0x04) != 0) line.Append(" stale");
        return line.ToString();
    }

    private static readonly (int Bit, string Name)[] LinkFlags =
    [
        (0x8, "LOOPBACK"), (0x2, "BROADCAST"), (0x10, "POINTOPOINT"), (0x1000, "MULTICAST"), (0x80, "NOARP"),
        (0x200, "ALLMULTI"), (0x100, "PROMISC"), (0x400, "MASTER"), (0x800, "SLAVE"), (0x4, "DEBUG"),
        (0x8000, "DYNAMIC"), (0x4000, "AUTOMEDIA"), (0x2000, "PORTSEL"), (0x20, "NOTRAILERS"), (0x1, "UP"),
        (0x10000, "LOWER_UP"), (0x20000, "DORMANT"), (0x40000, "ECHO"),
    ];

    private static readonly string[] OperStates = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];

    /// <summary>"[Deleted ]7: flannel.1: &lt;BROADCAST,MULTICAST,UP,LOWER_UP&gt; mtu 1450 qdisc noqueue master M state UNKNOWN group default ".</summary>
    private static string? Link(bool deleted, ReadOnlySpan<byte> payload, Names names)
    {
        if (payload.Length < 16) return null;
        var index = MemoryMarshal.Read<int>(payload[4..]);
        var flags = MemoryMarshal.Read<uint>(payload[8..]);
        Span<int> slots = stackalloc int[2 * 28];
        var attributes = new Attributes(payload[16..], slots);
        if (!attributes.TryGet(3, out var ifname)) return null;
        var name = Text(ifname);
        if (deleted) names.Forget(index);
        else names.Remember(index, name);
        var line = new StringBuilder();
        if (deleted) line.Append("Deleted ");
        line.Append(CultureInfo.InvariantCulture, $"{index}: {name}");
        if (attributes.TryGet(5, out var link) && link.Length >= 4)
        {
            var peer = MemoryMarshal.Read<int>(link);
            if (peer == 0) line.Append("@NONE");
            else if (peer != index) line.Append('@').Append(names.NameOf(peer));
        }
        line.Append(": <");
        var parts = new List<string>();
        if ((flags & 0x1) != 0 && (flags & 0x40) == 0) parts.Add("NO-CARRIER");
        foreach (var (bit, flagName) in LinkFlags)
        {
            if ((flags & bit) != 0) parts.Add(flagName);
        }
        line.Append(string.Join(',', parts)).Append('>');
        if (attributes.TryGet(4, out var mtu) && mtu.Length >= 4) line.Append(CultureInfo.InvariantCulture, $" mtu {MemoryMarshal.Read<uint>(mtu)}");
        if (attributes.TryGet(6, out var qdisc)) line.Append(" qdisc ").Append(Text(qdisc));
        if (attributes.TryGet(10, out var master) && master.Length >= 4) line.Append(" master ").Append(names.NameOf(MemoryMarshal.Read<int>(master)));
        if (attributes.TryGet(16, out var operstate) && operstate.Length >= 1)
            line.Append(" state ").Append(operstate[0] < OperStates.Length ? OperStates[operstate[0]] : operstate[0].ToString(CultureInfo.InvariantCulture));
        if (attributes.TryGet(27, out var group) && group.Length >= 4)
        {
            var g = MemoryMarshal.Read<uint>(group);
            line.Append(" group ").Append(g == 0 ? "default" : g.ToString(CultureInfo.InvariantCulture));
        }
        return line.Append(' ').ToString();
    }

    /// <summary>"[Deleted ]5: docker0    inet 10.244.1.1/24 brd 10.244.1.255 scope global docker0" (IPv6: "inet6 fd00:10:244:1::1/64 scope global ").</summary>
    private static string? InterfaceAddress(bool deleted, ReadOnlySpan<byte> payload, Names names)
    {
        if (payload.Length >= 8 && payload[0] == AF_INET6) return InterfaceAddress6(deleted, payload, names);
        if (payload.Length < 8 || payload[0] != AF_INET) return null;
        var prefix = payload[1];
        var flags = payload[2];
        var scope = payload[3];
        var index = (int)MemoryMarshal.Read<uint>(payload[4..]);
        Span<int> slots = stackalloc int[2 * 5];
        var attributes = new Attributes(payload[8..], slots);
        if (!attributes.TryGet(2, out var local) && !attributes.TryGet(1, out local)) return null;
        if (local.Length != 4) return null;
        var line = new StringBuilder();
        if (deleted) line.Append("Deleted ");
        line.Append(CultureInfo.InvariantCulture, $"{index}: {names.NameOf(index)}    inet {Address(local)}/{prefix}");
        if (attributes.TryGet(4, out var broadcast) && broadcast.Length == 4) line.Append(CultureInfo.InvariantCulture, $" brd {Address(broadcast)}");
        line.Append(" scope ").Append(Scope(scope));
        if ((flags & 0x01) != 0) line.Append(" secondary");
        if (attributes.TryGet(3, out var label)) line.Append(' ').Append(Text(label));
        return line.ToString();
    }

    private static string? InterfaceAddress6(bool deleted, ReadOnlySpan<byte> payload, Names names)
    {
        var prefix = payload[1];
        var scope = payload[3];
        var index = (int)MemoryMarshal.Read<uint>(payload[4..]);
        Span<int> slots = stackalloc int[2 * 5];
        var attributes = new Attributes(payload[8..], slots);
        if (!attributes.TryGet(2, out var local) && !attributes.TryGet(1, out local)) return null;
        if (local.Length != 16) return null;
        var line = new StringBuilder();
        if (deleted) line.Append("Deleted ");
        line.Append(CultureInfo.InvariantCulture, $"{index}: {names.NameOf(index)}    inet6 {new System.Net.IPAddress(local)}/{prefix} scope {Scope(scope)} ");
        return line.ToString();
    }

    private static readonly string[] RouteTypes = ["unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"];

    /// <summary>"[Deleted ][type ]10.244.2.0/24 via 10.244.2.0 dev flannel.1 [table T] proto 211 [scope S] [src A] [metric N] onlink ".</summary>
    private static string? Route(bool deleted, ReadOnlySpan<byte> payload, Names names)
    {
        if (payload.Length < 12 || payload[0] is not (AF_INET or AF_INET6)) return null;
        var size = payload[0] == AF_INET ? 4 : 16;
        var dstLength = payload[1];
        var protocol = payload[5];
        var scope = payload[6];
        var routeType = payload[7];
        var flags = MemoryMarshal.Read<uint>(payload[8..]);
        Span<int> slots = stackalloc int[2 * 16];
        var attributes = new Attributes(payload[12..], slots);
        var table = attributes.TryGet(15, out var t) && t.Length >= 4 ? MemoryMarshal.Read<uint>(t) : payload[4];
        var line = new StringBuilder();
        if (deleted) line.Append("Deleted ");
        if (routeType != 1) line.Append(routeType < RouteTypes.Length ? RouteTypes[routeType] : routeType.ToString(CultureInfo.InvariantCulture)).Append(' ');
        if (attributes.TryGet(1, out var dst) && dst.Length == size)
            line.Append(dstLength == 8 * size ? Ip(dst) : string.Create(CultureInfo.InvariantCulture, $"{Ip(dst)}/{dstLength}"));
        else
            line.Append(dstLength == 0 ? "default" : string.Create(CultureInfo.InvariantCulture, $"{(size == 4 ? "0" : "::")}/{dstLength}"));
        if (attributes.TryGet(5, out var gateway) && gateway.Length == size) line.Append(" via ").Append(Ip(gateway));
        if (attributes.TryGet(4, out var oif) && oif.Length >= 4) line.Append(" dev ").Append(names.NameOf(MemoryMarshal.Read<int>(oif)));
        if (table != 254)
            line.Append(" table ").Append(table switch { 255 => "local", 253 => "default", _ => table.ToString(CultureInfo.InvariantCulture) });
        if (protocol != 3) line.Append(" proto ").Append(RouteProtocols.Name(protocol));
        if (scope != 0) line.Append(" scope ").Append(Scope(scope));
        if (attributes.TryGet(7, out var source) && source.Length == size) line.Append(" src ").Append(Ip(source));
        if (attributes.TryGet(6, out var metric) && metric.Length >= 4) line.Append(CultureInfo.InvariantCulture, $" metric {MemoryMarshal.Read<uint>(metric)}");
        if ((flags & 0x1) != 0) line.Append(" dead");
        if ((flags & 0x4) != 0) line.Append(" onlink");
        if ((flags & 0x10) != 0) line.Append(" linkdown");
        return line.Append(' ').ToString();
    }

    private static readonly (int Bit, string Name)[] NeighbourStates =
        [(0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"), (0x10, "PROBE"), (0x20, "FAILED"), (0x40, "NOARP"), (0x80, "PERMANENT")];

    /// <summary>"[Deleted ]10.244.2.0 dev flannel.1 lladdr 02:00:00:00:00:02 PERMANENT ".</summary>
    private static string? Neighbour(bool deleted, ReadOnlySpan<byte> payload, Names names)
    {
        if (payload.Length < 12 || payload[0] is not (AF_INET or AF_INET6)) return null;
        var index = MemoryMarshal.Read<int>(payload[4..]);
        var state = MemoryMarshal.Read<ushort>(payload[8..]);
        var flags = payload[10];
        Span<int> slots = stackalloc int[2 * 3];
        var attributes = new Attributes(payload[12..], slots);
        if (!attributes.TryGet(1, out var dst) || dst.Length != (payload[0] == AF_INET ? 4 : 16)) return null;
        var line = new StringBuilder();
        if (deleted) line.Append("Deleted ");
        line.Append(Ip(dst));
        if (index != 0) line.Append(" dev ").Append(names.NameOf(index));
        if (attributes.TryGet(2, out var lladdr))
            line.Append(" lladdr ").Append(Mac(lladdr)?.ToString() ?? Convert.ToHexStringLower(lladdr));
        if ((flags & 0x80) != 0) line.Append(" router");
        if ((flags & 0x08) != 0) line.Append(" proxy");
        if (state == 0) line.Append(" NONE");
        foreach (var (bit, stateName) in NeighbourStates)
        {
            if ((state & bit) != 0) line.Append(' ').Append(stateName);
        }
        return line.Append(' ').ToString();
    }

    private static string Scope(byte scope) => scope switch
    {
        0 => "global",
        200 => "site",
        253 => "link",
        254 => "host",
        255 => "nowhere",
        _ => scope.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Device names by index, kept from link notifications; an index not seen yet is looked up with a
    /// fresh link dump (iproute2 asks the kernel too), else printed "ifN" as ip does.
    /// </summary>
    internal sealed class Names(RtnetlinkReader reader)
    {
        private readonly Dictionary<int, string> _names = reader.ReadLinks().ToDictionary(l => l.Index, l => l.Name);

        public void Remember(int index, string name) => _names[index] = name;

        public void Forget(int index) => _names.Remove(index);

        public string NameOf(int index)
        {
            if (index == 0) return "*";
            if (_names.TryGetValue(index, out var name)) return name;
            foreach (var link in reader.ReadLinks()) _names[link.Index] = link.Name;
            return _names.TryGetValue(index, out name) ? name : string.Create(CultureInfo.InvariantCulture, $"if{index}");
        }
    }
}
