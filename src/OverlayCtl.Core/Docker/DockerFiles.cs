using System.Globalization;
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
    /// <summary>The keys overlayctl owns in daemon.json.</summary>
    public static readonly IReadOnlyList<string> OwnedKeys = ["bip", "mtu", "ip-masq"];

    private static readonly JsonSerializerOptions Pretty = new() { WriteIndented = true };

    /// <summary>Docker's --bip: the subnet's gateway with the subnet's length (10.244.5.1/24).</summary>
    public static string Bip(Ipv4Cidr subnet) => new InterfaceAddress(subnet.Gateway, subnet.PrefixLength).ToString();

    /// <summary>
    /// The merged daemon.json, or null when <paramref name="current"/> already says the same
    /// (whitespace and key order do not count as a change).
    /// </summary>
    public static string? MergeDaemonConfig(string path, string? current, Ipv4Cidr subnet, int mtu, bool ipMasq)
    {
        var root = ParseObject(path, current);
        var before = root.DeepClone();
        root["bip"] = Bip(subnet);
        root["mtu"] = mtu;
        // Docker must not masquerade the overlay when overlayctl does (flannel's --ip-masq=false).
        root["ip-masq"] = !ipMasq;
        return current is not null && JsonNode.DeepEquals(before, root) ? null : root.ToJsonString(Pretty) + "\n";
    }

    /// <summary>daemon.json without overlayctl's keys; null when nothing changes, "" when nothing is left (delete the file).</summary>
    public static string? StripDaemonConfig(string path, string? current)
    {
        if (current is null) return null;
        var root = ParseObject(path, current);
        var removed = OwnedKeys.Count(root.Remove);
        if (removed == 0) return null;
        return root.Count == 0 ? "" : root.ToJsonString(Pretty) + "\n";
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

    public static string SubnetEnv(Ipv4Cidr network, Ipv4Cidr subnet, int mtu, bool ipMasq) => string.Create(CultureInfo.InvariantCulture,
        $"FLANNEL_NETWORK={network}\nFLANNEL_SUBNET={Bip(subnet)}\nFLANNEL_MTU={mtu}\nFLANNEL_IPMASQ={(ipMasq ? "true" : "false")}\n");

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

    private static JsonObject ParseObject(string path, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new PlanningException($"{path} is not a JSON object; fix it by hand (overlayctl never overwrites an operator's file it cannot read)");
        }
        catch (JsonException e)
        {
            throw new PlanningException($"{path} is not valid JSON ({e.Message}); fix it by hand (overlayctl never overwrites an operator's file it cannot read)");
        }
    }
}
