using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using OverlayCtl.Core;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Engine;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Observe;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// <c>overlayctl agent -f SPEC --host NAME</c>: keeps this host converged on its own (docs/commands/agent.md).
/// The spec's connection for the host is ignored: the agent runs on the host and acts locally.
/// </summary>
internal static class AgentCommand
{
    public static Command Create(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var host = new Option<string>("--host") { Description = "this host's name in the spec", Required = true, HelpName = "NAME" };
        var resync = new Option<string?>("--resync") { Description = "converge at least this often, even when nothing was signalled (default 30s)", HelpName = "DURATION" };
        var stateFile = new Option<string?>("--state-file") { Description = "where the agent records its last convergence for status (default /run/overlayctl/agent-CLUSTER-HOST.json)", HelpName = "FILE" };
        var command = new Command("agent", "keep this host converged: hold its lease, converge on every lease change in etcd, on kernel changes to its devices, routes and rules, and every --resync; "
            + "runs in the foreground until SIGTERM (exit 0, the network left as it is); SIGHUP reloads the spec") { spec, host, resync, stateFile };
        foreach (var subcommand in AgentInstallCommands.Create(commands)) command.Subcommands.Add(subcommand);
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var every = context.Parse.GetValue(resync) is { } text
                ? GoDuration.Parse(text) ?? throw new InputException($"--resync '{text}' is not a duration (fix: e.g. 30s or 1m)")
                : AgentOptions.Default.Resync;
            var name = context.Parse.GetRequiredValue(host);
            var cluster = context.LoadSpec(spec);
            while (!ct.IsCancellationRequested)
            {
                // A lease with a TTL is kept alive as the agent converges: at least three times per TTL.
                var options = AgentOptions.Default with { Resync = cluster.LeaseTtl is { } ttl && ttl / 3 < every ? ttl / 3 : every };
                var me = cluster.FindHost(name)
                    ?? throw new InputException($"--host {name} is not a host in {cluster.SourcePath} (hosts: {string.Join(", ", cluster.Hosts.Select(h => h.Name))})");
                var state = context.Parse.GetValue(stateFile) ?? RunPaths.AgentState(cluster.Name, me.Name);
                using var reload = CancellationTokenSource.CreateLinkedTokenSource(ct);
                using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
                {
                    signal.Cancel = true;
                    reload.Cancel();
                });
                // Every device the backend owns (vxlan: flannel-v6.VNI too); IPv6 followed where the host's IPv6 state is read.
                var devices = new[] { cluster.Docker.Bridge, cluster.Network.Backend.Device(cluster) }.Concat(cluster.Network.Backend.OwnedDevices(cluster, ObservedHost.Empty))
                    .OfType<string>().Distinct(StringComparer.Ordinal).ToList();
                var ipv6 = cluster.Network.Ipv6 is not null || me.Address6 is not null;
                var agent = new HostAgent(cluster, me, context.OpenLeaseStore(cluster, ttl: cluster.LeaseTtl), new LocalHostRunner(me.Name, context.Processes), context.Log, options,
                    KernelMonitor.WatchAsync(devices, context.Log, reload.Token, ipv6), s => WriteState(state, s), () => SystemdNotify.Ready(context.Log));
                context.Log.Information("{Host}: agent started for {Cluster} ({Spec}), resync every {Resync}", me.Name, cluster.Name, cluster.SourcePath, options.Resync);
                await agent.RunAsync(reload.Token).ConfigureAwait(false);
                if (ct.IsCancellationRequested) break;
                cluster = Reload(context, cluster, spec);
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The spec again on SIGHUP; one that no longer loads is reported and the running one kept.</summary>
    private static ClusterSpec Reload(CliContext context, ClusterSpec running, Option<string?> spec)
    {
        try
        {
            var cluster = context.LoadSpec(spec);
            context.Log.Information("SIGHUP: reloaded {Spec}", cluster.SourcePath);
            return cluster;
        }
        catch (SpecException e)
        {
            context.Log.Error("SIGHUP: {Spec} cannot be used, keeping the running spec: {Problems}", running.SourcePath, e.Message);
            return running;
        }
    }

    /// <summary>Written whole (a temp file renamed over it), so status never reads half a file.</summary>
    private static void WriteState(string path, AgentState state)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(state, AgentJsonContext.Default.AgentState));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The state file serves status; the network does not depend on it.
        }
    }

    /// <summary>The command that runs this overlayctl again: the native binary itself, or dotnet with this assembly.</summary>
    public static IReadOnlyList<string> Self()
    {
        var path = Environment.ProcessPath ?? "overlayctl";
        var assembly = Path.Combine(AppContext.BaseDirectory, typeof(AgentCommand).Assembly.GetName().Name + ".dll");
        return Path.GetFileNameWithoutExtension(path) is "dotnet" or "testhost" && File.Exists(assembly)
            ? [Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "/usr/bin/dotnet", assembly]
            : [path];
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AgentState))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
