using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// flannel's etcd layout and JSON, byte-compatible, so a flannel node can share the network:
/// <c>&lt;prefix&gt;/config</c> and <c>&lt;prefix&gt;/subnets/10.244.5.0-24</c>.
/// </summary>
public static class FlannelFormat
{
    public static string ConfigKey(string prefix) => prefix + "/config";

    public static string SubnetsPrefix(string prefix) => prefix + "/subnets/";

    public static string LeaseKey(string prefix, Ipv4Cidr subnet) => SubnetsPrefix(prefix) + subnet.ToKeyString();

    /// <summary>The key a lease lives under, with its IPv6 half when it has one.</summary>
    public static string LeaseKey(string prefix, Lease lease) =>
        LeaseKey(prefix, lease.Subnet) + (lease.Subnet6 is { } v6 ? "&" + Ipv6.ToKeyString(v6) : "");

    /// <summary>
    /// Parses the part after <c>subnets/</c> in every form flannel writes: <c>10.244.2.0-24</c>,
    /// dual-stack <c>10.244.2.0-24&amp;fd00:10:244:2::-64</c>, IPv6-only <c>fd00:10:244:2::-64</c>.
    /// False when it is none of them.
    /// </summary>
    public static bool TryParseSubnetKey(string text, out Ipv4Cidr? subnet, out IPNetwork? subnet6)
    {
        subnet = null;
        subnet6 = null;
        var amp = text.IndexOf('&', StringComparison.Ordinal);
        string? v4 = text, v6 = null;
        if (amp >= 0) (v4, v6) = (text[..amp], text[(amp + 1)..]);
        else if (text.Contains(':', StringComparison.Ordinal)) (v4, v6) = (null, text);
        if (v4 is not null)
        {
            if (!Ipv4Cidr.TryParseKeyString(v4, out var four)) return false;
            subnet = four;
        }
        if (v6 is not null)
        {
            var dash = v6.LastIndexOf('-');
            if (dash <= 0 || !IPAddress.TryParse(v6[..dash], out var address) || address.AddressFamily != AddressFamily.InterNetworkV6
                || !int.TryParse(v6[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > 128)
                return false;
            var network = Ipv6.Containing(address, length);
            if (!network.BaseAddress.Equals(address)) return false;
            subnet6 = network;
        }
        return true;
    }

    public static string SerializeLease(Lease lease) => Write(w =>
    {
        w.WriteString("PublicIP", lease.PublicIp.ToString());
        if (lease.PublicIpv6 is { } v6) w.WriteString("PublicIPv6", v6.ToString());
        else w.WriteNull("PublicIPv6");
        w.WriteString("BackendType", lease.BackendType);
        if (lease.Vni is not null || lease.VtepMac is not null || lease.PublicKey is not null || lease.Port is not null)
        {
            w.WriteStartObject("BackendData");
            if (lease.Vni is { } vni) w.WriteNumber("VNI", vni);
            if (lease.VtepMac is { } mac) w.WriteString("VtepMAC", mac.Text);
            // flannel's wireguard backend: {"PublicKey": "...", "Port": 51820}.
            if (lease.PublicKey is { } key) w.WriteString("PublicKey", key);
            if (lease.Port is { } port) w.WriteNumber("Port", port);
            w.WriteEndObject();
        }
        // flannel's vxlan: the IPv6 device's MAC, with the same VNI.
        if (lease.VtepMac6 is { } mac6)
        {
            w.WriteStartObject("BackendV6Data");
            if (lease.Vni is { } vni) w.WriteNumber("VNI", vni);
            w.WriteString("VtepMAC", mac6.Text);
            w.WriteEndObject();
        }
    });

    /// <summary>
    /// Parses a lease value; null, with the reason in <paramref name="problem"/>, when it is not a lease
    /// flannel or overlayctl would write.
    /// </summary>
    public static Lease? ParseLease(Ipv4Cidr subnet, string json, out string? problem, long etcdLeaseId = 0, long modRevision = 0, IPNetwork? subnet6 = null)
    {
        problem = null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = $"the value is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not flannel's lease object";
                return null;
            }
            if (!Ipv4Address.TryParse(GetString(root, "PublicIP"), out var ip))
            {
                problem = "the value has no PublicIP holding an IPv4 address";
                return null;
            }
            var backend = GetString(root, "BackendType") ?? "udp";
            int? vni = null, port = null;
            MacAddress? mac = null;
            string? publicKey = null;
            if (root.TryGetProperty("BackendData", out var data) && data.ValueKind == JsonValueKind.Object)
            {
                vni = GetInt(data, "VNI");
                if (MacAddress.TryParse(GetString(data, "VtepMAC"), out var m)) mac = m;
                publicKey = GetString(data, "PublicKey") is { Length: > 0 } key ? key : null;
                port = GetInt(data, "Port");
            }
            IPAddress? ip6 = Ipv6.TryParseAddress(GetString(root, "PublicIPv6"), out var a6) ? a6 : null;
            MacAddress? mac6 = root.TryGetProperty("BackendV6Data", out var data6) && MacAddress.TryParse(GetString(data6, "VtepMAC"), out var m6) ? m6 : null;
            return new Lease(subnet, ip, backend, vni, mac, etcdLeaseId, modRevision, subnet6, publicKey, port, ip6, mac6);
        }
        catch (JsonException e)
        {
            problem = "the value is not JSON: " + e.Message;
            return null;
        }
    }

    public static string SerializeConfig(NetworkConfig config) => Write(w =>
    {
        w.WriteString("Network", config.Network.ToString());
        w.WriteNumber("SubnetLen", config.SubnetLen);
        w.WriteString("SubnetMin", config.SubnetMin.ToString());
        w.WriteString("SubnetMax", config.SubnetMax.ToString());
        if (config.Ipv6 is { } v6)
        {
            w.WriteBoolean("EnableIPv6", true);
            w.WriteString("IPv6Network", v6.Network.ToString());
            w.WriteNumber("IPv6SubnetLen", v6.SubnetLen);
            w.WriteString("IPv6SubnetMin", v6.SubnetMin.ToString());
            w.WriteString("IPv6SubnetMax", v6.SubnetMax.ToString());
        }
        w.WriteStartObject("Backend");
        w.WriteString("Type", config.BackendType);
        if (config.Vni is { } vni) w.WriteNumber("VNI", vni);
        if (config.Port is { } port) w.WriteNumber("Port", port);
        if (config.ListenPort is { } listen) w.WriteNumber("ListenPort", listen);
        if (config.PersistentKeepaliveInterval is { } keepalive) w.WriteNumber("PersistentKeepaliveInterval", keepalive);
        w.WriteEndObject();
    });

    /// <summary>Parses flannel's config, filling flannel's defaults for what it leaves out.</summary>
    public static NetworkConfig? ParseConfig(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !Ipv4Cidr.TryParse(GetString(root, "Network"), out var network)) return null;
            var length = GetInt(root, "SubnetLen") ?? SubnetDefaults.SubnetLength(network);
            var min = Ipv4Address.TryParse(GetString(root, "SubnetMin"), out var mn) ? mn : SubnetDefaults.SubnetMin(network, length);
            var max = Ipv4Address.TryParse(GetString(root, "SubnetMax"), out var mx) ? mx : SubnetDefaults.SubnetMax(network, length);
            string type = "udp";
            int? vni = null, port = null, listen = null, keepalive = null;
            if (root.TryGetProperty("Backend", out var b) && b.ValueKind == JsonValueKind.Object)
            {
                type = GetString(b, "Type") ?? type;
                vni = GetInt(b, "VNI");
                port = GetInt(b, "Port");
                listen = GetInt(b, "ListenPort");
                keepalive = GetInt(b, "PersistentKeepaliveInterval");
            }
            return new NetworkConfig(network, length, min, max, type, vni, port, listen, keepalive) { Ipv6 = ParseIpv6Config(root) };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The IPv6 half of a config, with flannel's defaults (a /64 per host from a /62 or larger network, the
    /// first subnet skipped, up to the last); null unless EnableIPv6 is true with a usable IPv6Network.
    /// </summary>
    private static Ipv6NetworkConfig? ParseIpv6Config(JsonElement root)
    {
        if (!root.TryGetProperty("EnableIPv6", out var enable) || enable.ValueKind != JsonValueKind.True || !Ipv6.TryParse(GetString(root, "IPv6Network"), out var network))
            return null;
        var length = GetInt(root, "IPv6SubnetLen") is { } l && l > network.PrefixLength && l <= 128 ? l : SubnetDefaults.SubnetLength6(network);
        if (length > 128) return null;
        var min = Ipv6.TryParseAddress(GetString(root, "IPv6SubnetMin"), out var mn) ? mn : SubnetDefaults.SubnetMin6(network, length);
        var max = Ipv6.TryParseAddress(GetString(root, "IPv6SubnetMax"), out var mx) ? mx : SubnetDefaults.SubnetMax6(network, length);
        return new Ipv6NetworkConfig(network, length, min, max);
    }

    /// <summary>A whole number that fits an int; anything else (a string, a fraction, an object) counts as absent.</summary>
    private static int? GetInt(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var n) ? n : null;

    private static string? GetString(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        // Written as Go's encoding/json writes them: a public key's '+' stays '+', not \u002B.
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
