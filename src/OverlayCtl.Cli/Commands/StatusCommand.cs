using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using OverlayCtl.Engine;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl status -f SPEC</c>: per host, the lease, the overlay device, peers, rules, files and drift.</summary>
internal static class StatusCommand
{
    public static Command Create(CommandSet commands)
    {
        var options = new ClusterOptions();
        var command = new Command("status", "show each host's lease, overlay device, peers, rules, files and drift; exit 0 converged, 2 drift, 4 unreachable");
        foreach (var option in options.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var (cluster, targets, store, engine) = options.Open(context);
            var leases = await store.ListAsync(ct).ConfigureAwait(false);
            var outcomes = await engine.Hosts.ConvergeAsync(targets, leases, execute: false, ct).ConfigureAwait(false);
            var agents = await engine.Hosts.ReadFilesAsync(targets, h => RunPaths.AgentState(cluster.Name, h.Name), ct).ConfigureAwait(false);
            var now = DateTimeOffset.UtcNow;
            var report = new StatusReport(outcomes.Select(o => Row(cluster, o, Math.Max(0, leases.Count - 1)) with { Agent = Agent(agents.GetValueOrDefault(o.Host), now) }).ToList());
            context.Out.Write(report, StatusJsonContext.Default.StatusReport, r => Human(r, context.Out.Format == OutputFormat.Wide, context.Color));
            if (report.Hosts.Any(h => h.State == Unknown)) return ExitCodes.HostFailed;
            return report.Hosts.Any(h => h.State == "drift") ? ExitCodes.Changes : ExitCodes.Ok;
        }));
        return command;
    }

    private const string Unknown = "unknown";

    /// <summary>
    /// A host not observed (no lease, unreachable) is unknown in every column: claiming "missing" or
    /// "none" about a host nobody looked at would be a lie.
    /// </summary>
    private static HostStatus Row(ClusterSpec cluster, HostOutcome o, int peers)
    {
        var backend = cluster.Network.Backend.Name;
        if (o.Observed is not { } observed || o.Plan is null || o.Lease is null)
            return new HostStatus(o.Host, o.Lease?.Subnet.ToString(), backend, null, null, null, null, false, Unknown, false, Unknown, null, [], false, Unknown, o.Error);
        var facts = cluster.Network.Backend.Status(cluster, o.Lease, observed, o.Plan);
        var ops = o.Plan.Operations;
        var iptables = !ops.Any(op => op.Address.Kind is ResourceKind.IptablesChain or ResourceKind.IptablesJump) ? "ok"
            : ops.Any(op => op.Address.Kind == ResourceKind.IptablesChain && op.Kind == ChangeKind.Add) ? "missing" : "drift";
        var files = ops.Any(op => op.Address.Kind == ResourceKind.File) ? "differ" : "in sync";
        return new HostStatus(o.Host, o.Lease.Subnet.ToString(), backend, o.Lease.VtepMac?.Text, facts.DeviceState,
            peers - facts.PeersMissing, peers, iptables == "ok", iptables, files == "in sync", files, ops.Count,
            ops.Select(op => $"{op.Sign} {op.Address}").ToList(), true, ops.Count == 0 ? "converged" : "drift", null)
        {
            Device6 = facts.Device6State,
        };
    }

    /// <summary>The host's agent as its state file tells: running (heard from lately), stopped, or none.</summary>
    private static AgentStatus Agent(string? file, DateTimeOffset now)
    {
        AgentState? state = null;
        try
        {
            state = file is null ? null : System.Text.Json.JsonSerializer.Deserialize(file, AgentJsonContext.Default.AgentState);
        }
        catch (System.Text.Json.JsonException)
        {
            // A file cut short or written by something else says nothing about an agent.
        }
        return state is null
            ? new AgentStatus("none", null, null, null)
            : new AgentStatus(state.IsLive(now) ? "running" : "stopped", state.LastConverged, state.Revision, state.LastError);
    }

    private static string AgentCell(AgentStatus agent, DateTimeOffset now) => agent.State switch
    {
        "none" => "none",
        var s when agent.LastConverged is { } at => string.Create(CultureInfo.InvariantCulture, $"{s}, converged {Ago(now - at)} ago @{agent.Revision}"),
        var s => s + (agent.LastError is null ? "" : ": " + agent.LastError),
    };

    private static string Ago(TimeSpan span) => span.TotalSeconds < 120
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)span.TotalSeconds)}s")
        : span.TotalMinutes < 120 ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m") : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h");

    /// <summary>The status table; with <paramref name="color"/>, the device and state columns coloured by how good they are.</summary>
    internal static string Human(StatusReport report, bool wide, bool color = false)
    {
        var now = DateTimeOffset.UtcNow;
        // DEVICE6 (flannel-v6) only when a host has an IPv6 device: an IPv4-only table keeps its columns.
        var dual = report.Hosts.Any(h => h.Device6 is not null);
        var headers = new List<string> { "HOST", "SUBNET", "BACKEND", "DEVICE", "PEERS", "IPTABLES", "FILES", "DRIFT", "STATE", "AGENT" };
        if (dual) headers.Insert(4, "DEVICE6");
        if (wide) headers.AddRange(["VTEP MAC", "DETAIL"]);
        var table = new Table([.. headers]);
        foreach (var h in report.Hosts)
        {
            var cells = new List<string?>
            {
                h.Host, h.Subnet, h.Backend, h.State == Unknown ? Unknown : h.Device,
                h.PeersExpected is null ? Unknown : string.Create(CultureInfo.InvariantCulture, $"{h.PeersProgrammed}/{h.PeersExpected}"),
                h.Iptables, h.Files,
                h.Drift switch { null => Unknown, 0 => "none", var n => string.Create(CultureInfo.InvariantCulture, $"{n} op(s)") },
                h.State,
                AgentCell(h.Agent, now),
            };
            if (dual) cells.Insert(4, h.State == Unknown ? Unknown : h.Device6 ?? "-");
            if (wide) cells.AddRange([h.VtepMac, h.Error ?? string.Join(", ", h.Changes)]);
            table.Add([.. cells]);
        }
        // DEVICE (and DEVICE6) and STATE.
        var colored = dual ? new[] { 3, 4, 9 } : [3, 8];
        return table.Render((column, cell) => color && colored.Contains(column) ? Colors.Of(cell) : null);
    }
}

/// <summary>The shape of <c>status -o json</c> (docs/output.md).</summary>
internal sealed record StatusReport(IReadOnlyList<HostStatus> Hosts);

/// <summary>
/// One host's status. <see cref="Drift"/> counts the operations plan would run; <see cref="State"/> is
/// converged, drift, or unknown (not observed: no lease, unreachable), when the counts are null.
/// <see cref="Chains"/>, <see cref="FilesInSync"/> and <see cref="Reachable"/> are the first shape's
/// fields, kept for scripts: <see cref="Iptables"/>, <see cref="Files"/> and <see cref="State"/> say more.
/// </summary>
internal sealed record HostStatus(
    string Host, string? Subnet, string Backend, string? VtepMac, string? Device, int? PeersProgrammed, int? PeersExpected,
    bool Chains, string Iptables, bool FilesInSync, string Files, int? Drift, IReadOnlyList<string> Changes, bool Reachable, string State, string? Error)
{
    /// <summary>The host's agent, from the state file it keeps (<c>/run/overlayctl/agent-CLUSTER-HOST.json</c>).</summary>
    public AgentStatus Agent { get; init; } = new("none", null, null, null);

    /// <summary>
    /// A dual-stack vxlan host's <c>flannel-v6.VNI</c>, as <see cref="Device"/> says the IPv4 device (up, down, missing,
    /// wrong-mac); left out of the JSON otherwise, so IPv4-only output keeps its shape.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Device6 { get; init; }
}

/// <summary>An agent as status reports it: running, stopped (its state file has gone quiet), or none; when it last converged and the etcd revision it saw.</summary>
internal sealed record AgentStatus(string State, DateTimeOffset? LastConverged, long? Revision, string? LastError);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StatusReport))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
