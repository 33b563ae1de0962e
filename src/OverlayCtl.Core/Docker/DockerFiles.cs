using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Core.Docker;

/// <summary>
/// What Docker reads: <c>daemon.json</c> (bip, mtu, ip-masq merged into the operator's file, every
/// other key kept) and flannel's <c>subnet.env</c>.
/// </summary>
public static class DockerFiles
{
    /// <summary>The keys overlayctl owns in daemon.json (the last two only on a dual-stack network).</summary>
    public static readonly IReadOnlyList<string> OwnedKeys = ["bip", "mtu", "ip-masq", "ipv6", "fixed-cidr-v6"];

    /// <summary>The keys a dual-stack network adds: Docker's IPv6 switch and the containers' IPv6 subnet.</summary>
    private static readonly string[] Ipv6Keys = ["ipv6", "fixed-cidr-v6"];

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    /// <summary>Docker's --bip: the subnet's gateway with the subnet's length (10.244.5.1/24).</summary>
    public static string Bip(Ipv4Cidr subnet) => new InterfaceAddress(subnet.Gateway, subnet.PrefixLength).ToString();

    /// <summary>
    /// The merged daemon.json, or null when <paramref name="current"/> already says the same
    /// (whitespace and key order do not count as a change). With <paramref name="subnet6"/> (dual-stack) Docker
    /// gets <c>ipv6: true</c> and the lease's IPv6 subnet as <c>fixed-cidr-v6</c>. Without it, those two keys go
    /// back to what <paramref name="original"/> (the file before overlayctl first wrote it) said, so a switch back
    /// to IPv4 only takes back what the dual-stack apply wrote; with no original known they are left alone.
    /// </summary>
    public static string? MergeDaemonConfig(string path, string? current, Ipv4Cidr subnet, int mtu, bool ipMasq, IPNetwork? subnet6 = null, string? original = null)
    {
        var root = ParseObject(path, current);
        var before = root.DeepClone();
        root["bip"] = Bip(subnet);
        root["mtu"] = mtu;
        // Docker must not masquerade the overlay when overlayctl does (flannel's --ip-masq=false).
        root["ip-masq"] = !ipMasq;
        if (subnet6 is { } v6)
        {
            root["ipv6"] = true;
            root["fixed-cidr-v6"] = v6.ToString();
        }
        else if (original is not null)
        {
            var then = ParseObject(BackupPath(path), original);
            foreach (var key in Ipv6Keys)
            {
                if (then[key] is { } value) root[key] = value.DeepClone();
                else root.Remove(key);
            }
        }
        return current is not null && JsonNode.DeepEquals(before, root) ? null : root.ToJsonString(Pretty) + "\n";
    }

    /// <summary>
    /// Where apply keeps daemon.json as it was before overlayctl first wrote it (next to the path the spec
    /// names, even when that is a link): written once, never overwritten, removed by destroy once restored.
    /// Empty when there was no daemon.json: overlayctl created the file, and destroy removes it again when
    /// nothing but its keys is left.
    /// </summary>
    public static string BackupPath(string path) => path + ".overlayctl.bak";

    /// <summary>
    /// Where apply notes, next to daemon.json, that it runs <c>docker.restart</c> for the bip the note holds; removed
    /// once dockerd holds it. Left behind (the restart failed, or apply was interrupted), it has the next apply
    /// restart dockerd although daemon.json already says the right thing.
    /// </summary>
    public static string RestartPendingPath(string path) => path + ".overlayctl.restart";

    /// <summary>
    /// Whether <paramref name="current"/> already gives Docker a bip inside the overlay: a file overlayctl
    /// wrote before it kept backups (an upgraded host). Kept as "the original", it would make destroy put
    /// overlayctl's own keys back, so such a file gets no backup and destroy removes the keys instead.
    /// </summary>
    public static bool WrittenForOverlay(string path, string? current, Ipv4Cidr network) =>
        current is not null && ParseObject(path, current)["bip"] is JsonValue bip && bip.TryGetValue<string>(out var text)
        && InterfaceAddress.TryParse(text, out var address) && network.Contains(address.Address);

    /// <summary>
    /// daemon.json as destroy leaves it; null when nothing changes, "" when nothing is left (delete the file).
    /// With a <paramref name="backup"/>, the original comes back: byte for byte when every other key is as it
    /// was (comments and layout included; no file when there was none), else the current file with
    /// overlayctl's keys set back to the original's values (removed where it had none), so keys the operator
    /// changed since are kept. Without one (a file written before backups were kept), overlayctl's keys are removed.
    /// </summary>
    public static string? RestoreDaemonConfig(string path, string? current, string? backup)
    {
        if (backup is not null)
        {
            if (current is null) return backup.Length == 0 ? null : backup;
            var original = ParseObject(BackupPath(path), backup);
            var now = ParseObject(path, current);
            if (JsonNode.DeepEquals(WithoutOwned(original.DeepClone().AsObject()), WithoutOwned(now.DeepClone().AsObject()))) return current == backup ? null : backup;
            foreach (var key in OwnedKeys)
            {
                if (original[key] is { } value) now[key] = value.DeepClone();
                else now.Remove(key);
            }
            return now.ToJsonString(Pretty) + "\n";
        }
        if (current is null) return null;
        var root = ParseObject(path, current);
        var removed = OwnedKeys.Count(root.Remove);
        if (removed == 0) return null;
        return root.Count == 0 ? "" : root.ToJsonString(Pretty) + "\n";
    }

    private static JsonObject WithoutOwned(JsonObject root)
    {
        foreach (var key in OwnedKeys) root.Remove(key);
        return root;
    }

    /// <summary>overlayctl's keys that differ between two daemon.json texts, as <c>key value</c> lists (before, after).</summary>
    public static (string Before, string After) DaemonConfigChange(string path, string current, string wanted)
    {
        var (now, then) = (ParseObject(path, current), ParseObject(path, wanted));
        var keys = OwnedKeys.Where(k => !JsonNode.DeepEquals(now[k], then[k])).ToList();
        string Show(JsonObject o) => keys.Count == 0 ? "layout" : string.Join(", ", keys.Select(k => $"{k} {o[k]?.ToJsonString() ?? "(unset)"}"));
        return (Show(now), Show(then));
    }

    /// <summary>The lines that differ between two <c>KEY=VALUE</c> texts (subnet.env), as (before, after).</summary>
    public static (string Before, string After) LinesChange(string current, string wanted)
    {
        var (now, then) = (current.Split('\n', StringSplitOptions.RemoveEmptyEntries), wanted.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var gone = now.Except(then, StringComparer.Ordinal).ToList();
        var added = then.Except(now, StringComparer.Ordinal).ToList();
        return (gone.Count == 0 ? "(none)" : string.Join(", ", gone), added.Count == 0 ? "(none)" : string.Join(", ", added));
    }

    /// <summary>flannel's subnet.env, in flannel's order: the IPv6 pair (network, first address of the subnet) after the IPv4 one when dual-stack.</summary>
    public static string SubnetEnv(Ipv4Cidr network, Ipv4Cidr subnet, int mtu, bool ipMasq, IPNetwork? network6 = null, IPNetwork? subnet6 = null) => string.Create(CultureInfo.InvariantCulture,
        $"FLANNEL_NETWORK={network}\nFLANNEL_SUBNET={Bip(subnet)}\n{(network6 is { } n6 && subnet6 is { } s6 ? $"FLANNEL_IPV6_NETWORK={n6}\nFLANNEL_IPV6_SUBNET={Ipv6.GatewayWithLength(s6)}\n" : "")}FLANNEL_MTU={mtu}\nFLANNEL_IPMASQ={(ipMasq ? "true" : "false")}\n");

    /// <summary>The mtu daemon.json gives Docker's containers, or null when it sets none or cannot be read.</summary>
    public static int? Mtu(string? daemonConfig)
    {
        try
        {
            return ParseObject("daemon.json", daemonConfig)["mtu"]?.GetValue<int>();
        }
        catch (Exception e) when (e is PlanningException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static JsonObject ParseObject(string path, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        try
        {
            // JsonNode would fail on a duplicate key only when first read, with a message naming no file.
            using (var document = JsonDocument.Parse(text, Lenient))
            {
                if (FirstDuplicate(document.RootElement, "") is { } key)
                    throw new PlanningException($"{path} has the key '{key}' twice, and which one Docker uses is not certain; remove one by hand (overlayctl never rewrites an operator's file it cannot read unambiguously)");
            }
            return JsonNode.Parse(text, documentOptions: Lenient) as JsonObject
                ?? throw new PlanningException($"{path} is not a JSON object; fix it by hand (overlayctl never overwrites an operator's file it cannot read)");
        }
        catch (JsonException e)
        {
            throw new PlanningException($"{path} is not valid JSON ({e.Message}); fix it by hand (overlayctl never overwrites an operator's file it cannot read)");
        }
    }

    /// <summary>The first key that appears twice in one object (dotted from the top: log-opts.max-size), or null.</summary>
    private static string? FirstDuplicate(JsonElement element, string at)
    {
        if (element.ValueKind == JsonValueKind.Array)
            return element.EnumerateArray().Select(item => FirstDuplicate(item, at)).FirstOrDefault(d => d is not null);
        if (element.ValueKind != JsonValueKind.Object) return null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var name = at.Length == 0 ? property.Name : at + "." + property.Name;
            if (!seen.Add(property.Name)) return name;
            if (FirstDuplicate(property.Value, name) is { } inner) return inner;
        }
        return null;
    }
}
