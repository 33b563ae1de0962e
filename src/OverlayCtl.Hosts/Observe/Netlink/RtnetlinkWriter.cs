using System.Buffers.Binary;
using System.Runtime.InteropServices;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>
/// Carries out, in process over rtnetlink, the plan steps a peer's arrival or departure is made of:
/// <c>ip neigh replace|del</c>, <c>bridge fdb replace|del</c> and <c>ip route replace|del</c>, as the
/// planner writes them, for IPv4 and IPv6 addresses alike (a dual-stack peer's flannel-v6 entries and routes). Each becomes the request iproute2 itself would send for those arguments (same
/// message, flags, table, protocol and scope), so the kernel ends up exactly where the command would have
/// left it. A step in any other form is not <see cref="CanWrite">writable</see> here and runs as the
/// command, as before: this is a faster path for a fixed vocabulary, never a second interpreter of iproute2.
/// </summary>
public sealed class RtnetlinkWriter
{
    private const byte AF_INET = 2;
    private const byte AF_INET6 = 10;
    private const byte AF_BRIDGE = 7;
    private const ushort RTM_NEWROUTE = 24;
    private const ushort RTM_DELROUTE = 25;
    private const ushort RTM_NEWNEIGH = 28;
    private const ushort RTM_DELNEIGH = 29;
    private const ushort NLM_F_REPLACE = 0x100;
    private const ushort NLM_F_CREATE = 0x400;
    private const ushort NDA_DST = 1;
    private const ushort NDA_LLADDR = 2;
    private const ushort RTA_DST = 1;
    private const ushort RTA_OIF = 4;
    private const ushort RTA_GATEWAY = 5;
    private const ushort NUD_PERMANENT = 0x80;
    private const ushort NUD_NOARP = 0x40;
    private const byte NTF_SELF = 0x02;
    private const byte RT_TABLE_MAIN = 254;
    private const byte RTPROT_BOOT = 3;
    private const byte RT_SCOPE_UNIVERSE = 0;
    private const byte RT_SCOPE_NOWHERE = 255;
    private const byte RTN_UNICAST = 1;
    private const uint RTNH_F_ONLINK = 0x4;

    private readonly NetlinkSocket _socket;

    internal RtnetlinkWriter(NetlinkSocket socket) => _socket = socket;

    /// <summary>One step in the vocabulary this writer knows, parsed.</summary>
    private abstract record Request(string Device);

    /// <summary>An address as the kernel takes it: its family and its bytes in network order.</summary>
    private sealed record Address(byte Family, byte[] Bytes);

    private sealed record Neigh(bool Delete, Address Address, string Device, MacAddress? LinkAddress) : Request(Device);

    private sealed record Fdb(bool Delete, MacAddress Mac, string Device, Address? Destination, bool Permanent) : Request(Device);

    private sealed record Route(bool Delete, Address Destination, int PrefixLength, Address? Via, string? Device, bool Onlink, byte? Protocol) : Request(Device ?? "");

    /// <summary>Whether <paramref name="step"/> is in this writer's vocabulary; if not, it runs as its command.</summary>
    public static bool CanWrite(Step step) => Parse(step) is not null;

    /// <summary>
    /// Carries out <paramref name="step"/> (one <see cref="CanWrite">writable</see> step); <paramref name="indexOf"/>
    /// gives a device's index. The kernel's refusal is a <see cref="NetlinkException"/> worded as iproute2's
    /// (<c>RTNETLINK answers: No such device</c>).
    /// </summary>
    public void Write(Step step, Func<string, int?> indexOf)
    {
        var request = Parse(step) ?? throw new ArgumentException($"not a step the rtnetlink writer carries out: {step.Render()}", nameof(step));
        var index = request.Device.Length == 0 ? 0 : indexOf(request.Device) ?? throw new NetlinkException($"Cannot find device \"{request.Device}\"", 19);
        switch (request)
        {
            case Neigh n:
                Send(n.Delete ? RTM_DELNEIGH : RTM_NEWNEIGH, n.Delete ? (ushort)0 : (ushort)(NLM_F_CREATE | NLM_F_REPLACE),
                    NeighHeader(n.Address.Family, index, NUD_PERMANENT, 0),
                    [(NDA_DST, n.Address.Bytes), .. n.LinkAddress is { } mac ? [(NDA_LLADDR, Bytes(mac))] : Array.Empty<(ushort, byte[])>()]);
                break;
            case Fdb f:
                Send(f.Delete ? RTM_DELNEIGH : RTM_NEWNEIGH, f.Delete ? (ushort)0 : (ushort)(NLM_F_CREATE | NLM_F_REPLACE),
                    NeighHeader(AF_BRIDGE, index, f.Permanent ? NUD_PERMANENT : NUD_NOARP, NTF_SELF),
                    [(NDA_LLADDR, Bytes(f.Mac)), .. f.Destination is { } dst ? [(NDA_DST, dst.Bytes)] : Array.Empty<(ushort, byte[])>()]);
                break;
            case Route r:
                var header = new byte[12];
                header[0] = r.Destination.Family;
                header[1] = (byte)r.PrefixLength;
                header[4] = RT_TABLE_MAIN;
                // iproute2: a deletion leaves protocol, scope and type open (wildcards) unless given.
                header[5] = r.Protocol ?? (r.Delete ? (byte)0 : RTPROT_BOOT);
                header[6] = r.Delete ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
                header[7] = r.Delete ? (byte)0 : RTN_UNICAST;
                BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), r.Onlink ? RTNH_F_ONLINK : 0);
                var attributes = new List<(ushort, byte[])> { (RTA_DST, r.Destination.Bytes) };
                if (r.Via is { } via) attributes.Add((RTA_GATEWAY, via.Bytes));
                if (index != 0) attributes.Add((RTA_OIF, BitConverter.GetBytes(index)));
                Send(r.Delete ? RTM_DELROUTE : RTM_NEWROUTE, r.Delete ? (ushort)0 : (ushort)(NLM_F_CREATE | NLM_F_REPLACE), header, attributes);
                break;
        }
    }

    private void Send(ushort type, ushort flags, byte[] header, IReadOnlyList<(ushort Type, byte[] Value)> attributes)
    {
        var length = header.Length + attributes.Sum(a => Align(4 + a.Value.Length));
        var body = new byte[length];
        header.CopyTo(body, 0);
        var offset = header.Length;
        foreach (var (attribute, value) in attributes)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(offset), (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(offset + 2), attribute);
            value.CopyTo(body, offset + 4);
            offset += Align(4 + value.Length);
        }
        _socket.Request(type, flags, body);
    }

    private static byte[] NeighHeader(byte family, int index, ushort state, byte flags)
    {
        // struct ndmsg: family, 3 bytes pad, ifindex, state, flags, type.
        var header = new byte[12];
        header[0] = family;
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), index);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), state);
        header[10] = flags;
        return header;
    }

    /// <summary>An IPv4 or IPv6 address in the planner's spelling; null for anything else.</summary>
    private static Address? AddressOf(string text)
    {
        if (Ipv4Address.TryParse(text, out var v4))
        {
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, v4.Value);
            return new Address(AF_INET, bytes);
        }
        return Ipv6.TryParseAddress(text, out var v6) ? new Address(AF_INET6, v6.GetAddressBytes()) : null;
    }

    /// <summary>A route's destination, IPv4 (<c>10.244.2.0/24</c>) or IPv6 (<c>fd00:10:244:2::/64</c>); null for anything else.</summary>
    private static (Address Network, int PrefixLength)? NetworkOf(string text) =>
        Ipv4Cidr.TryParse(text, out var v4) ? (AddressOf(v4.Network.ToString())!, v4.PrefixLength)
        : Ipv6.TryParse(text, out var v6) ? (new Address(AF_INET6, v6.BaseAddress.GetAddressBytes()), v6.PrefixLength)
        : null;

    private static byte[] Bytes(MacAddress mac) => mac.Text.Split(':').Select(h => Convert.ToByte(h, 16)).ToArray();

    private static int Align(int length) => (length + 3) & ~3;

    /// <summary>The planner's own forms, exactly; anything else (another option, another order of a keyword and its value) is null.</summary>
    private static Request? Parse(Step step) => step switch
    {
        IpStep { Arguments: ["neigh", "replace", var a, "dev", var d, "lladdr", var m, "nud", "permanent"] }
            when AddressOf(a) is { } address && MacAddress.TryParse(m, out var mac) => new Neigh(false, address, d, mac),
        IpStep { Arguments: ["neigh", "del", var a, "dev", var d] } when AddressOf(a) is { } address => new Neigh(true, address, d, null),
        BridgeStep { Arguments: ["fdb", "replace", var m, "dev", var d, "self", "dst", var a, "permanent"] }
            when MacAddress.TryParse(m, out var mac) && AddressOf(a) is { } dst => new Fdb(false, mac, d, dst, true),
        BridgeStep { Arguments: ["fdb", "del", var m, "dev", var d, "self", "dst", var a] }
            when MacAddress.TryParse(m, out var mac) && AddressOf(a) is { } dst => new Fdb(true, mac, d, dst, false),
        IpStep { Arguments: ["route", var verb, var c, ..] } ip when verb is "replace" or "del" && NetworkOf(c) is { } network =>
            ParseRoute(verb == "del", network.Network, network.PrefixLength, ip.Arguments.Skip(3).ToList()),
        _ => null,
    };

    private static Route? ParseRoute(bool delete, Address destination, int prefixLength, IReadOnlyList<string> rest)
    {
        Address? via = null;
        string? device = null;
        byte? protocol = null;
        var onlink = false;
        for (var i = 0; i < rest.Count; i++)
        {
            switch (rest[i])
            {
                case "via" when i + 1 < rest.Count && AddressOf(rest[i + 1]) is { } gateway && gateway.Family == destination.Family && via is null:
                    via = gateway;
                    i++;
                    break;
                case "dev" when i + 1 < rest.Count && device is null:
                    device = rest[++i];
                    break;
                case "proto" when i + 1 < rest.Count && byte.TryParse(rest[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && protocol is null:
                    protocol = p;
                    i++;
                    break;
                case "onlink" when !onlink:
                    onlink = true;
                    break;
                default:
                    return null;
            }
        }
        // A new route needs its gateway and device, as the planner always gives them (iproute2 would pick another scope without).
        return !delete && (via is null || device is null) ? null : new Route(delete, destination, prefixLength, via, device, onlink, protocol);
    }
}
