using System.Text.Json;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;

namespace OverlayCtl.Hosts.Observe;

/// <summary>
/// Turns the machine-readable output of iproute2, iptables-save and ovs-vsctl into observed state.
/// Tolerant by design: unknown fields are ignored, IPv6 and malformed entries skipped.
/// </summary>
public static class StateParsers
{
    public static IReadOnlyList<LinkInfo> ParseLinks(string json)
    {
        var links = new List<LinkInfo>();
        foreach (var e in Array(json))
        {
            var name = Str(e, "ifname");
            if (name is null) continue;
            var flags = Strings(e, "flags");
            string? kind = null;
            VxlanInfo? vxlan = null;
            if (e.TryGetProperty("linkinfo", out var info) && info.ValueKind == JsonValueKind.Object)
            {
                kind = Str(info, "info_kind");
                if (kind == "vxlan" && info.TryGetProperty("info_data", out var data) && data.ValueKind == JsonValueKind.Object)
                {
                    vxlan = new VxlanInfo(
                        Int(data, "id") ?? 0,
                        Ipv4Address.TryParse(Str(data, "local"), out var local) ? local : null,
                        Str(data, "link"),
                        Int(data, "port") ?? 0,
                        data.TryGetProperty("learning", out var l) && l.ValueKind == JsonValueKind.True)
                    {
                        Local6 = Ipv6.TryParseAddress(Str(data, "local6"), out var local6) ? local6 : null,
                    };
                }
            }
            links.Add(new LinkInfo(
                Int(e, "ifindex") ?? 0,
                name,
                kind,
                Int(e, "mtu") ?? 0,
                MacAddress.TryParse(Str(e, "address"), out var mac) ? mac : null,
                flags.Contains("UP"),
                Str(e, "master"),
                Str(e, "ifalias"),
                vxlan));
        }
        return links;
    }

    public static IReadOnlyList<AddressInfo> ParseAddresses(string json)
    {
        var result = new List<AddressInfo>();
        foreach (var e in Array(json))
        {
            var device = Str(e, "ifname");
            if (device is null || !e.TryGetProperty("addr_info", out var infos) || infos.ValueKind != JsonValueKind.Array) continue;
            foreach (var a in infos.EnumerateArray())
            {
                if (Str(a, "family") != "inet" || !Ipv4Address.TryParse(Str(a, "local"), out var address) || Int(a, "prefixlen") is not { } length) continue;
                result.Add(new AddressInfo(device, new InterfaceAddress(address, length)));
            }
        }
        return result;
    }

    public static IReadOnlyList<RouteInfo> ParseRoutes(string json)
    {
        var result = new List<RouteInfo>();
        foreach (var e in Array(json))
        {
            var dst = Str(e, "dst");
            Ipv4Cidr? destination = null;
            if (dst != "default")
            {
                if (Ipv4Cidr.TryParse(dst, out var d)) destination = d;
                else continue;
            }
            if (Str(e, "type") is { } type && type != "unicast") continue;
            result.Add(new RouteInfo(
                destination,
                Ipv4Address.TryParse(Str(e, "gateway"), out var gw) ? gw : null,
                Str(e, "dev"),
                Strings(e, "flags").Contains("onlink"),
                Str(e, "protocol")));
        }
        return result;
    }

    public static IReadOnlyList<NeighborInfo> ParseNeighbors(string json)
    {
        var result = new List<NeighborInfo>();
        foreach (var e in Array(json))
        {
            if (!Ipv4Address.TryParse(Str(e, "dst"), out var address) || Str(e, "dev") is not { } device) continue;
            result.Add(new NeighborInfo(address, device, MacAddress.TryParse(Str(e, "lladdr"), out var mac) ? mac : null, Strings(e, "state").Contains("PERMANENT")));
        }
        return result;
    }

    public static IReadOnlyList<FdbInfo> ParseFdb(string json)
    {
        var result = new List<FdbInfo>();
        foreach (var e in Array(json))
        {
            if (!MacAddress.TryParse(Str(e, "mac"), out var mac) || (Str(e, "ifname") ?? Str(e, "dev")) is not { } device) continue;
            result.Add(new FdbInfo(
                mac,
                device,
                Ipv4Address.TryParse(Str(e, "dst"), out var dst) ? dst : null,
                Strings(e, "flags").Contains("self"),
                Str(e, "state") == "permanent"));
        }
        return result;
    }

    /// <summary>The global IPv6 addresses of <c>ip -j -6 addr show</c>.</summary>
    public static IReadOnlyList<Address6Info> ParseAddresses6(string json)
    {
        var result = new List<Address6Info>();
        foreach (var e in Array(json))
        {
            var device = Str(e, "ifname");
            if (device is null || !e.TryGetProperty("addr_info", out var infos) || infos.ValueKind != JsonValueKind.Array) continue;
            foreach (var a in infos.EnumerateArray())
            {
                if (Str(a, "family") != "inet6" || Str(a, "scope") != "global" || !Ipv6.TryParseAddress(Str(a, "local"), out var address) || Int(a, "prefixlen") is not { } length) continue;
                result.Add(new Address6Info(device, address, length));
            }
        }
        return result;
    }

    /// <summary>The unicast routes of <c>ip -j -6 route show table main</c>; a host route's dst has no length.</summary>
    public static IReadOnlyList<Route6Info> ParseRoutes6(string json)
    {
        var result = new List<Route6Info>();
        foreach (var e in Array(json))
        {
            var dst = Str(e, "dst");
            System.Net.IPNetwork? destination = null;
            if (dst != "default")
            {
                if (dst is not null && !dst.Contains('/', StringComparison.Ordinal)) dst += "/128";
                if (Ipv6.TryParse(dst, out var d)) destination = d;
                else continue;
            }
            if (Str(e, "type") is { } type && type != "unicast") continue;
            result.Add(new Route6Info(
                destination,
                Ipv6.TryParseAddress(Str(e, "gateway"), out var gw) ? gw : null,
                Str(e, "dev"),
                Strings(e, "flags").Contains("onlink"),
                Str(e, "protocol")));
        }
        return result;
    }

    public static IReadOnlyList<Neighbor6Info> ParseNeighbors6(string json)
    {
        var result = new List<Neighbor6Info>();
        foreach (var e in Array(json))
        {
            if (!Ipv6.TryParseAddress(Str(e, "dst"), out var address) || Str(e, "dev") is not { } device) continue;
            result.Add(new Neighbor6Info(address, device, MacAddress.TryParse(Str(e, "lladdr"), out var mac) ? mac : null, Strings(e, "state").Contains("PERMANENT")));
        }
        return result;
    }

    /// <summary>The fdb entries of <c>bridge -j fdb show</c> that send to an IPv6 address (self entries of a VXLAN device over IPv6).</summary>
    public static IReadOnlyList<Fdb6Info> ParseFdb6(string json)
    {
        var result = new List<Fdb6Info>();
        foreach (var e in Array(json))
        {
            if (!MacAddress.TryParse(Str(e, "mac"), out var mac) || (Str(e, "ifname") ?? Str(e, "dev")) is not { } device
                || !Ipv6.TryParseAddress(Str(e, "dst"), out var dst) || !Strings(e, "flags").Contains("self")) continue;
            result.Add(new Fdb6Info(mac, device, dst, Str(e, "state") == "permanent"));
        }
        return result;
    }

    /// <summary>iptables-save text: per table, chain policies and rule lines verbatim.</summary>
    public static IptablesState ParseIptablesSave(string text)
    {
        var tables = new Dictionary<string, IptablesTable>();
        string? table = null;
        Dictionary<string, string?> chains = [];
        List<string> rules = [];
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith('*'))
            {
                table = line[1..].Trim();
                chains = [];
                rules = [];
            }
            else if (table is null || line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            else if (line.StartsWith(':'))
            {
                var parts = line[1..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2) chains[parts[0]] = parts[1] == "-" ? null : parts[1];
            }
            else if (line.StartsWith("-A ", StringComparison.Ordinal))
            {
                rules.Add(line);
            }
            else if (line == "COMMIT")
            {
                tables[table] = new IptablesTable(chains, rules);
                table = null;
            }
        }
        return new IptablesState(tables);
    }

    private static IEnumerable<JsonElement> Array(string json)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList() : [];
    }

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var v) ? v : null;

    private static HashSet<string> Strings(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];

    /// <summary>tx-checksum-ip-generic from <c>ethtool -k</c> ("on", "off", "off [fixed]"); null when the line is absent.</summary>
    public static bool? ParseTxChecksumOffload(string ethtool)
    {
        var line = ethtool.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith("tx-checksum-ip-generic:", StringComparison.Ordinal));
        return line is null ? null : line.Split(':', 2)[1].TrimStart().StartsWith("on", StringComparison.Ordinal);
    }
}
