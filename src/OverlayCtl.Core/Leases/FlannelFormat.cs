using System.Text;
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

    public static bool TryParseLeaseKey(string prefix, string key, out Ipv4Cidr subnet)
    {
        subnet = default;
        var head = SubnetsPrefix(prefix);
        return key.StartsWith(head, StringComparison.Ordinal) && Ipv4Cidr.TryParseKeyString(key[head.Length..], out subnet);
    }

    public static string SerializeLease(Lease lease) => Write(w =>
    {
        w.WriteString("PublicIP", lease.PublicIp.ToString());
        w.WriteNull("PublicIPv6");
        w.WriteString("BackendType", lease.BackendType);
        if (lease.Vni is not null || lease.VtepMac is not null)
        {
            w.WriteStartObject("BackendData");
            if (lease.Vni is { } vni) w.WriteNumber("VNI", vni);
            if (lease.VtepMac is { } mac) w.WriteString("VtepMAC", mac.Text);
            w.WriteEndObject();
        }
    });

    /// <summary>Parses a lease value; null when it is not a lease flannel or overlayctl would write.</summary>
    public static Lease? ParseLease(Ipv4Cidr subnet, string json, long etcdLeaseId = 0, long modRevision = 0)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (!Ipv4Address.TryParse(GetString(root, "PublicIP"), out var ip)) return null;
            var backend = GetString(root, "BackendType") ?? "udp";
            int? vni = null;
            MacAddress? mac = null;
            if (root.TryGetProperty("BackendData", out var data) && data.ValueKind == JsonValueKind.Object)
            {
                if (data.TryGetProperty("VNI", out var v) && v.TryGetInt32(out var n)) vni = n;
                if (MacAddress.TryParse(GetString(data, "VtepMAC"), out var m)) mac = m;
            }
            return new Lease(subnet, ip, backend, vni, mac, etcdLeaseId, modRevision);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string SerializeConfig(NetworkConfig config) => Write(w =>
    {
        w.WriteString("Network", config.Network.ToString());
        w.WriteNumber("SubnetLen", config.SubnetLen);
        w.WriteString("SubnetMin", config.SubnetMin.ToString());
        w.WriteString("SubnetMax", config.SubnetMax.ToString());
        w.WriteStartObject("Backend");
        w.WriteString("Type", config.BackendType);
        if (config.Vni is { } vni) w.WriteNumber("VNI", vni);
        if (config.Port is { } port) w.WriteNumber("Port", port);
        w.WriteEndObject();
    });

    /// <summary>Parses flannel's config, filling flannel's defaults for what it leaves out.</summary>
    public static NetworkConfig? ParseConfig(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (!Ipv4Cidr.TryParse(GetString(root, "Network"), out var network)) return null;
            var length = root.TryGetProperty("SubnetLen", out var sl) && sl.TryGetInt32(out var l) ? l : SubnetDefaults.SubnetLength(network);
            var min = Ipv4Address.TryParse(GetString(root, "SubnetMin"), out var mn) ? mn : SubnetDefaults.SubnetMin(network, length);
            var max = Ipv4Address.TryParse(GetString(root, "SubnetMax"), out var mx) ? mx : SubnetDefaults.SubnetMax(network, length);
            string type = "udp";
            int? vni = null, port = null;
            if (root.TryGetProperty("Backend", out var b) && b.ValueKind == JsonValueKind.Object)
            {
                type = GetString(b, "Type") ?? type;
                if (b.TryGetProperty("VNI", out var v) && v.TryGetInt32(out var vn)) vni = vn;
                if (b.TryGetProperty("Port", out var p) && p.TryGetInt32(out var pn)) port = pn;
            }
            return new NetworkConfig(network, length, min, max, type, vni, port);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? GetString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
