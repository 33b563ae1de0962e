using System.CommandLine;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using OverlayCtl.Core;
using OverlayCtl.Core.Agents;
using OverlayCtl.Core.Files;
using OverlayCtl.Core.Spec;
using OverlayCtl.Engine;
using OverlayCtl.Etcd;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Install;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// <c>overlayctl agent install|uninstall -f SPEC</c>: the agent as a systemd service on each host, over the spec's
/// connections (docs/commands/agent.md). Each host is planned from what it has, the plan printed, then carried out.
/// </summary>
internal static class AgentInstallCommands
{
    public static IEnumerable<Command> Create(CommandSet commands) => [Install(commands), Uninstall(commands)];

    private static Command Install(CommandSet commands)
    {
        var cluster = new ClusterOptions();
        var dryRun = DryRun();
        var binary = new Option<string?>("--binary") { Description = "the native overlayctl to install (default: this one, when it is the native binary; scripts/native.sh builds artifacts/native/overlayctl)", HelpName = "PATH" };
        var root = Root();
        var command = new Command("install", "install the agent on each host as a systemd service (overlayctl-agent-CLUSTER): the binary, the spec, etcd credentials (root's only), "
            + "the unit; enable and start it; idempotent: a host that has it all is left alone") { dryRun, binary, root };
        foreach (var option in cluster.All) command.Options.Add(option);
        command.SetAction(commands.Action((context, ct) => RunAsync(context, cluster, context.Parse.GetValue(dryRun), context.Parse.GetValue(root), ct, spec =>
        {
            var etcd = context.EtcdOptions(spec);
            var layout = new AgentLayout(spec.Name);
            var binaryFile = FileContent.OfLocalFile(BinarySource(context.Parse.GetValue(binary)));
            var (credentials, arguments) = Credentials(context, layout, etcd);
            var common = new List<WantedFile> { new(AgentLayout.Binary, "755", binaryFile), new(layout.Spec, "644", FileContent.OfText(ReadLocal(spec.SourcePath, "-f"))) };
            common.AddRange(credentials);
            IReadOnlyList<string> role = etcd.User is { } user ? AgentInstall.RoleCommands(spec.Name, spec.Etcd.Prefix, user) : [];
            return new Planner((host, observed) => AgentInstall.PlanInstall(layout,
                [.. common, new(layout.Unit, "644", FileContent.OfText(AgentInstall.UnitFile(layout, host, arguments)))], observed), role);
        })));
        return command;
    }

    private static Command Uninstall(CommandSet commands)
    {
        var cluster = new ClusterOptions();
        var dryRun = DryRun();
        var root = Root();
        var command = new Command("uninstall", "stop, disable and remove the agent's service, spec copy and credentials on each host (the binary only if install put it there); "
            + "the network is left as it is") { dryRun, root };
        foreach (var option in cluster.All) command.Options.Add(option);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var code = await RunAsync(context, cluster, context.Parse.GetValue(dryRun), context.Parse.GetValue(root), ct, spec =>
                new Planner((_, observed) => AgentInstall.PlanUninstall(new AgentLayout(spec.Name), observed), [])).ConfigureAwait(false);
            context.Out.Note("the network on these hosts is left as it is (overlayctl destroy removes it)");
            return code;
        }));
        return command;
    }

    /// <summary>
    /// Observes and plans every target, prints the plans, and (unless --dry-run) carries them out. A host that fails
    /// (unreachable, a command failing) is named and the others still done: exit 4.
    /// </summary>
    private static async Task<int> RunAsync(CliContext context, ClusterOptions options, bool dryRun, string? root, CancellationToken ct,
        Func<ClusterSpec, Planner> planner)
    {
        var spec = context.LoadSpec(options.Spec);
        var targets = LeaseCoordinator.Targets(spec, Limits.Expand(context.Parse.GetValue(options.Limit)));
        if (root is not null && !Path.IsPathFullyQualified(root))
            throw new InputException($"--root {root} is not an absolute path (fix: name a directory by its absolute path)");
        var plan = planner(spec);
        var hosts = new ClusterRunner(spec, context.Runner, context.Log, options.ParallelCount(context));
        var planned = await hosts.ForEachHostAsync(targets, async (host, runner, token) =>
        {
            // Namespace hosts share this machine's files: under --root each host gets a directory of its own.
            var layout = new AgentLayout(spec.Name, root is null ? "" : Path.Combine(root, host.Name));
            var steps = plan.Plan(host.Name, await AgentInstaller.ObserveAsync(runner, layout, token).ConfigureAwait(false));
            return new HostInstall(host.Name, layout.Root, [.. steps.Select(s => s.Render())], steps, dryRun || steps.Count == 0 ? "planned" : "pending", null);
        }, (host, error) => new HostInstall(host.Name, "", [], [], "failed", error), ct).ConfigureAwait(false);

        foreach (var host in planned.Where(h => h.Steps.Count > 0))
            context.Out.Note($"{host.Host}:\n" + string.Concat(host.Planned.Select(s => $"  {s}\n")).TrimEnd('\n'));
        var done = dryRun ? planned : await hosts.ForEachHostAsync(targets, async (host, runner, token) =>
        {
            var mine = planned.First(p => p.Host == host.Name);
            if (mine.Result != "pending") return mine;
            await AgentInstaller.ExecuteAsync(runner, new AgentLayout(spec.Name, mine.Root), mine.Steps, token).ConfigureAwait(false);
            return mine with { Result = "done" };
        }, (host, error) => planned.First(p => p.Host == host.Name) with { Result = "failed", Error = error }, ct).ConfigureAwait(false);

        var result = new InstallResult(dryRun, [.. done.Select(h => new InstallHostResult(h.Host, h.Planned, h.Steps.Count == 0 && h.Error is null ? "unchanged" : h.Result, h.Error))], plan.Role);
        context.Out.Write(result, AgentInstallJsonContext.Default.InstallResult, Human);
        Limits.WriteRetry(context, spec, [.. done.Where(h => h.Error is not null).Select(h => h.Host)]);
        return done.Any(h => h.Error is not null) ? ExitCodes.HostFailed : ExitCodes.Ok;
    }

    /// <summary>How one host is planned from what it has (by host name), and the etcd role commands to print (install with a user).</summary>
    private sealed record Planner(Func<string, InstalledState, IReadOnlyList<InstallStep>> Plan, IReadOnlyList<string> Role);

    private sealed record HostInstall(string Host, string Root, IReadOnlyList<string> Planned, IReadOnlyList<InstallStep> Steps, string Result, string? Error);

    private static string Human(InstallResult r)
    {
        var lines = r.Hosts.Select(h => h.Result switch
        {
            "unchanged" => $"{h.Host}: unchanged (nothing to do)",
            "planned" => $"{h.Host}: {h.Steps.Count} step(s) planned (--dry-run: nothing done)",
            "done" => $"{h.Host}: done ({h.Steps.Count} step(s))",
            _ => $"{h.Host}: failed: {h.Error}",
        }).ToList();
        if (r.Role.Count > 0)
        {
            lines.Add("etcd auth is on: limit the agent's user to the network's keys (run once, as an etcd admin):");
            lines.AddRange(r.Role.Select(c => "  " + c));
        }
        return string.Concat(lines.Select(l => l + "\n"));
    }

    /// <summary>
    /// The credential files for the agent (TLS files as resolved by the flags, the environment and the spec; the
    /// password) and the agent's etcd arguments, which name only their installed paths, the user and the endpoints.
    /// </summary>
    private static (List<WantedFile> Files, List<string> Arguments) Credentials(CliContext context, AgentLayout layout, EtcdClientOptions etcd)
    {
        var files = new List<WantedFile>();
        var arguments = new List<string>();
        if (context.Parse.GetValue(GlobalOptions.Endpoints) is not null)
        {
            var endpoints = string.Join(',', etcd.Endpoints.Select(e => $"{e.Scheme}://{e.Authority}"));
            if (!AgentInstall.IsUnitSafe(endpoints)) throw new InputException($"--endpoints {endpoints} cannot be written into a unit file (fix: name endpoints by address or a plain DNS name)");
            arguments.AddRange(["--endpoints", endpoints]);
        }
        void Secret(string? local, string source, string name, string flag)
        {
            if (local is null) return;
            var path = $"{layout.Credentials}/{name}";
            files.Add(new(path, "600", FileContent.OfText(ReadLocal(local, source)), Secret: true));
            arguments.AddRange([flag, path]);
        }
        Secret(etcd.Tls?.Ca, etcd.Tls?.CaSource ?? "", "ca.pem", "--cacert");
        Secret(etcd.Tls?.Cert, etcd.Tls?.CertSource ?? "", "cert.pem", "--cert");
        Secret(etcd.Tls?.Key, etcd.Tls?.KeySource ?? "", "key.pem", "--key");
        if (etcd.User is { } user)
        {
            if (!AgentInstall.IsUnitSafe(user)) throw new InputException($"the etcd user '{user}' cannot be written into a unit file (fix: use a user name of letters, digits and . _ @ -)");
            var path = $"{layout.Credentials}/password";
            files.Add(new(path, "600", FileContent.OfText(etcd.Password + "\n"), Secret: true));
            arguments.AddRange(["--user", user, "--password-file", path]);
        }
        return (files, arguments);
    }

    /// <summary>
    /// The native binary to copy: --binary, else this process when it is the NativeAOT build (a dotnet-hosted
    /// overlayctl is not a binary a host can run).
    /// </summary>
    private static string BinarySource(string? flag)
    {
        const string Fix = "build it with scripts/native.sh and pass --binary artifacts/native/overlayctl, or run install from the native overlayctl";
        if (flag is not null)
            return RegularFile.Check(flag, int.MaxValue) is { } problem ? throw new InputException($"--binary {flag}: {problem} (fix: {Fix})") : Path.GetFullPath(flag);
        if (!RuntimeFeature.IsDynamicCodeSupported && Environment.ProcessPath is { } self) return self;
        throw new InputException($"this overlayctl runs on the .NET runtime, not as the native binary a host runs (fix: {Fix})");
    }

    private static string ReadLocal(string path, string source) =>
        RegularFile.TryReadText(path, out var text, out var problem) ? text : throw new InputException($"{source} {path}: {problem} (fix: name a readable regular file)");

    private static Option<bool> DryRun() => new("--dry-run") { Description = "print what would be done on each host, do nothing" };

    /// <summary>For tests on namespace hosts, which share this machine's files: each host's files go under DIR/HOST; systemctl is run as usual.</summary>
    private static Option<string?> Root() => new("--root") { Description = "install under DIR/HOST instead of / (tests)", HelpName = "DIR", Hidden = true };
}

/// <summary>What install or uninstall did on each host (<c>-o json</c>).</summary>
internal sealed record InstallResult(bool DryRun, IReadOnlyList<InstallHostResult> Hosts, IReadOnlyList<string> Role);

/// <summary>One host: the steps planned (as printed), and unchanged, planned (dry run), done or failed.</summary>
internal sealed record InstallHostResult(string Host, IReadOnlyList<string> Steps, string Result, string? Error);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InstallResult))]
internal sealed partial class AgentInstallJsonContext : JsonSerializerContext;
