using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Core.Agents;

/// <summary>
/// Where <c>agent install</c> puts a cluster's agent on a host (docs/commands/agent.md). One unit per cluster,
/// <c>overlayctl-agent-CLUSTER.service</c>, so one host can carry agents of several networks; the binary is shared.
/// Paths are as the host sees them; <see cref="Root"/> (tests only) prefixes where the files land, never
/// what the unit file says.
/// </summary>
public sealed record AgentLayout(string Cluster, string Root = "")
{
    public const string Binary = "/usr/local/bin/overlayctl";

    public string Spec => $"/etc/overlayctl/{Cluster}.yaml";

    /// <summary>Credentials: root's only (0700), each file 0600.</summary>
    public string Credentials => $"/etc/overlayctl/{Cluster}";

    /// <summary>Present when this cluster's install wrote the binary: uninstall removes the binary only then, and only when no other cluster's marker remains.</summary>
    public string BinaryMarker => $"/etc/overlayctl/{Cluster}.binary";

    public string UnitName => $"overlayctl-agent-{Cluster}.service";

    public string Unit => $"/etc/systemd/system/{UnitName}";

    /// <summary>The credential files install may write, by role: CA, client certificate, client key, password.</summary>
    public IReadOnlyList<string> CredentialFiles => [.. CredentialNames.Select(n => $"{Credentials}/{n}")];

    public static readonly IReadOnlyList<string> CredentialNames = ["ca.pem", "cert.pem", "key.pem", "password"];

    /// <summary>Every file install may own, in the order it writes them.</summary>
    public IReadOnlyList<string> Files => [Binary, BinaryMarker, Spec, .. CredentialFiles, Unit];

    /// <summary>Where a host path lands on the machine that writes it.</summary>
    public string Physical(string path) => Root + path;
}

/// <summary>Content for a file install writes: text, or the bytes of a local file (the binary).</summary>
public sealed record FileContent(string Sha256, long Size, string? Text, string? LocalPath)
{
    public static FileContent OfText(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return new(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), bytes.Length, text, null);
    }

    public static FileContent OfLocalFile(string path)
    {
        using var stream = File.OpenRead(path);
        return new(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream)), stream.Length, null, path);
    }
}

/// <summary>A file install wants on the host: where, with which mode (octal, as <c>stat -c %a</c> prints it), and whether its content is a secret.</summary>
public sealed record WantedFile(string Path, string Mode, FileContent Content, bool Secret = false);

/// <summary>What is on a host now: each file's sha256 and mode (absent: not in the map), and the unit's state as systemctl reports it.</summary>
public sealed record InstalledState(IReadOnlyDictionary<string, (string Sha256, string Mode)> Files, bool Enabled, bool Active, bool OtherBinaryMarkers = false)
{
    public static readonly InstalledState Nothing = new(new Dictionary<string, (string, string)>(), false, false);
}

/// <summary>One step of an install or uninstall; rendered exactly as it will be done, secrets never shown.</summary>
public abstract record InstallStep
{
    public abstract string Render();
}

/// <summary>Writes a file owned by root with <see cref="WantedFile.Mode"/>, atomically; a secret's directory is made root's only (0700).</summary>
public sealed record PutFile(WantedFile File, bool Exists) : InstallStep
{
    public override string Render() => string.Create(CultureInfo.InvariantCulture,
        $"{(Exists ? "~" : "+")} {File.Path} (mode {File.Mode}{(File.Secret ? ", secret" : $", {File.Content.Size} bytes, sha256 {File.Content.Sha256[..12]}")})");
}

/// <summary>Removes a file, or a directory with what is in it.</summary>
public sealed record RemovePath(string Path, bool Directory = false) : InstallStep
{
    public override string Render() => $"- {Path}{(Directory ? "/" : "")}";
}

/// <summary>A systemctl command.</summary>
public sealed record SystemctlStep(IReadOnlyList<string> Arguments) : InstallStep
{
    public CommandSpec ToCommand() => new("systemctl", Arguments);

    public override string Render() => "run " + ToCommand();
}

/// <summary>
/// Plans <c>agent install</c> and <c>agent uninstall</c> for one host as data, from what it wants and
/// what the host has: a host that has it all plans nothing. Pure: no I/O.
/// </summary>
public static partial class AgentInstall
{
    /// <summary>The agent's command line in the unit: paths and names only, never a secret.</summary>
    public static IReadOnlyList<string> ExecStart(AgentLayout layout, string host, IReadOnlyList<string> etcdArguments) =>
        [AgentLayout.Binary, "agent", "-f", layout.Spec, "--host", host, .. etcdArguments];

    /// <summary>
    /// The systemd unit. Restart=always brings the agent back whatever ended it. It is ordered before
    /// docker.service and wanted by it (as well as by multi-user.target), so starting Docker starts the agent first;
    /// Type=notify makes that wait last until the agent's first convergence (it says READY=1 then, or after its
    /// first failed attempt), so the docker bridge settings it writes are in place when Docker reads them. Without
    /// Requires=, Docker still starts when the agent cannot (etcd down at boot): its daemon.json from the last
    /// convergence is on disk.
    /// </summary>
    public static string UnitFile(AgentLayout layout, string host, IReadOnlyList<string> etcdArguments)
    {
        var exec = ExecStart(layout, host, etcdArguments);
        foreach (var argument in exec)
            if (!IsUnitSafe(argument))
                throw new ArgumentException($"'{argument}' cannot be written into a unit file as it is", nameof(etcdArguments));
        return $"""
            # Written by overlayctl agent install; overlayctl agent uninstall removes it.
            [Unit]
            Description=overlayctl agent for network {layout.Cluster} (host {host})
            Wants=network-online.target
            After=network-online.target
            Before=docker.service

            [Service]
            Type=notify
            NotifyAccess=main
            ExecStart={string.Join(' ', exec)}
            ExecReload=/bin/kill -HUP $MAINPID
            Restart=always
            RestartSec=2

            [Install]
            WantedBy=multi-user.target docker.service

            """;
    }

    /// <summary>
    /// The steps that bring the host from <paramref name="observed"/> to <paramref name="wanted"/>: files that
    /// differ in content or mode are written, credential files no longer wanted are removed, then systemd is told
    /// (daemon-reload when the unit changed; enable when not enabled; restart when anything changed, else start
    /// when not running). The binary marker is added when the binary is written now or was by an earlier install,
    /// so an identical binary an operator put there is never claimed (and never removed by uninstall).
    /// </summary>
    public static IReadOnlyList<InstallStep> PlanInstall(AgentLayout layout, IReadOnlyList<WantedFile> wanted, InstalledState observed)
    {
        bool Differs(WantedFile file) => !observed.Files.TryGetValue(file.Path, out var seen) || seen.Sha256 != file.Content.Sha256 || seen.Mode != file.Mode;
        var files = wanted.ToList();
        var binary = files.FindIndex(f => f.Path == AgentLayout.Binary);
        if (binary >= 0 && (Differs(files[binary]) || observed.Files.ContainsKey(layout.BinaryMarker)))
            files.Insert(binary + 1, new WantedFile(layout.BinaryMarker, "644", FileContent.OfText("")));
        var steps = new List<InstallStep>();
        foreach (var file in files.Where(Differs)) steps.Add(new PutFile(file, observed.Files.ContainsKey(file.Path)));
        foreach (var stale in layout.CredentialFiles.Where(p => observed.Files.ContainsKey(p) && files.All(w => w.Path != p)))
            steps.Add(new RemovePath(stale));
        var changed = steps.Count > 0;
        if (steps.OfType<PutFile>().Any(p => p.File.Path == layout.Unit)) steps.Add(new SystemctlStep(["daemon-reload"]));
        if (!observed.Enabled) steps.Add(new SystemctlStep(["enable", layout.UnitName]));
        if (changed) steps.Add(new SystemctlStep(["restart", layout.UnitName]));
        else if (!observed.Active) steps.Add(new SystemctlStep(["start", layout.UnitName]));
        return steps;
    }

    /// <summary>
    /// The steps that remove the agent: stop and disable it, remove its unit, spec copy, credentials and marker,
    /// and the binary when this cluster's install wrote it and no other cluster's agent uses it. The network is not touched.
    /// </summary>
    public static IReadOnlyList<InstallStep> PlanUninstall(AgentLayout layout, InstalledState observed)
    {
        var steps = new List<InstallStep>();
        var unit = observed.Files.ContainsKey(layout.Unit);
        if (unit || observed.Enabled || observed.Active) steps.Add(new SystemctlStep(["disable", "--now", layout.UnitName]));
        if (unit) steps.AddRange([new RemovePath(layout.Unit), new SystemctlStep(["daemon-reload"])]);
        if (observed.Files.ContainsKey(layout.Spec)) steps.Add(new RemovePath(layout.Spec));
        if (layout.CredentialFiles.Any(observed.Files.ContainsKey)) steps.Add(new RemovePath(layout.Credentials, Directory: true));
        if (observed.Files.ContainsKey(layout.BinaryMarker))
        {
            steps.Add(new RemovePath(layout.BinaryMarker));
            if (!observed.OtherBinaryMarkers && observed.Files.ContainsKey(AgentLayout.Binary)) steps.Add(new RemovePath(AgentLayout.Binary));
        }
        return steps;
    }

    /// <summary>
    /// etcd 3.4's commands for a role that reaches only the network's keys (its config, leases and lock all live
    /// under the prefix), granted to the agent's user.
    /// </summary>
    public static IReadOnlyList<string> RoleCommands(string cluster, string prefix, string user) =>
    [
        $"etcdctl role add overlayctl-agent-{cluster}",
        $"etcdctl role grant-permission overlayctl-agent-{cluster} readwrite --prefix=true {prefix}/",
        $"etcdctl user grant-role {user} overlayctl-agent-{cluster}",
    ];

    /// <summary>Whether systemd reads <paramref name="argument"/> literally in ExecStart: no spaces, quotes, backslashes, <c>%</c> specifiers or <c>$</c> variables.</summary>
    public static bool IsUnitSafe(string argument) => UnitSafe().IsMatch(argument);

    [GeneratedRegex("^[A-Za-z0-9_./:,@=+-]+$")]
    private static partial Regex UnitSafe();
}
