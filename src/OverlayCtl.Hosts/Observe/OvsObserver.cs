using System.Text.Json;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.State;

namespace OverlayCtl.Hosts.Observe;

/// <summary>Reads Open vSwitch bridges, ports and interfaces with one <c>ovs-vsctl</c> call.</summary>
public static class OvsObserver
{
    /// <summary>The read-only command: three tables, one JSON document each.</summary>
    public static CommandSpec Command(string? db)
    {
        var args = new List<string>();
        if (db is not null) args.Add("--db=" + db);
        args.AddRange(["--timeout=10", "-f", "json",
            "--", "--columns=name,datapath_type,ports,external_ids", "list", "Bridge",
            "--", "--columns=_uuid,name,interfaces,protected", "list", "Port",
            "--", "--columns=_uuid,name,type,options,mtu_request", "list", "Interface"]);
        return new CommandSpec("ovs-vsctl", args);
    }

    public static async Task<OvsState> ObserveAsync(IHostRunner runner, string? db, CancellationToken cancellationToken)
    {
        var command = Command(db);
        var result = await runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (result.Succeeded) return Parse(result.StandardOutput);
        var hint = $" (is Open vSwitch running on this host{(db is null ? "" : $" with its database at {db}")}? start openvswitch-switch, or fix network.ovs.db)";
        throw new CommandFailedException(runner.HostName, command, result with { StandardError = result.StandardError.Trim() + hint });
    }

    /// <summary>Parses the three tables ovs-vsctl prints, one JSON document per line.</summary>
    public static OvsState Parse(string output)
    {
        var tables = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{'))
            .Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.Clone(); })
            .ToList();
        if (tables.Count != 3) throw new FormatException($"ovs-vsctl printed {tables.Count} tables, expected Bridge, Port and Interface");
        var interfaces = Rows(tables[2]).ToDictionary(
            r => Uuid(r[0]),
            r => (Name: r[1].GetString() ?? "", Type: r[2].GetString(), Options: Map(r[3]), Mtu: Set(r[4]).Select(x => x.GetInt32()).Cast<int?>().FirstOrDefault()));
        var ports = Rows(tables[1]).ToDictionary(r => Uuid(r[0]), r => (Name: r[1].GetString() ?? "", Interfaces: Set(r[2]).Select(Uuid).ToList(), Protected: r[3].ValueKind == JsonValueKind.True));
        var bridges = Rows(tables[0]).Select(r =>
        {
            var portList = Set(r[2]).Select(Uuid).Where(ports.ContainsKey).Select(u =>
            {
                var port = ports[u];
                var iface = port.Interfaces.Where(interfaces.ContainsKey).Select(i => interfaces[i]).FirstOrDefault();
                return new OvsPort(port.Name, string.IsNullOrEmpty(iface.Type) ? null : iface.Type, iface.Options ?? new Dictionary<string, string>(), iface.Mtu, port.Protected);
            }).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
            var datapath = r[1].ValueKind == JsonValueKind.String ? r[1].GetString() : null;
            return new OvsBridge(r[0].GetString() ?? "", string.IsNullOrEmpty(datapath) ? null : datapath, portList, Map(r[3]));
        }).ToList();
        return new OvsState(bridges);
    }

    private static IEnumerable<JsonElement[]> Rows(JsonElement table) =>
        table.GetProperty("data").EnumerateArray().Select(r => r.EnumerateArray().ToArray());

    /// <summary>OVS JSON encodes a set of one as the bare value, otherwise as ["set", [...]].</summary>
    private static IEnumerable<JsonElement> Set(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array && e[0].GetString() == "set" ? e[1].EnumerateArray().ToList() : [e];

    private static string Uuid(JsonElement e) => e[1].GetString() ?? "";

    private static Dictionary<string, string> Map(JsonElement e) =>
        e[1].EnumerateArray().ToDictionary(p => p[0].GetString() ?? "", p => p[1].GetString() ?? "", StringComparer.Ordinal);
}
