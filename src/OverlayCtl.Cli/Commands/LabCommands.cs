using System.CommandLine;
using System.Text.Json.Serialization;
using OverlayCtl.Hosts.Lab;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl lab up|down</c>: the spec's netns:// hosts as namespaces on this machine.</summary>
internal static class LabCommands
{
    public static Command Create(CommandSet commands)
    {
        var lab = new Command("lab", "namespace hosts on this machine, to try a spec (hosts with connection: netns://NAME)");
        lab.Subcommands.Add(Step(commands, "up", "create each netns:// host: a namespace with its interface and address on a shared underlay bridge", (m, s, ct) => m.UpAsync(s, ct)));
        lab.Subcommands.Add(Step(commands, "down", "remove the namespaces, veths and the underlay bridge that lab up made", (m, s, ct) => m.DownAsync(s, ct)));
        lab.Subcommands.Add(Agents(commands));
        return lab;
    }

    /// <summary><c>lab agents up|down</c>: an agent process per namespace host, where a lab has no systemd.</summary>
    private static Command Agents(CommandSet commands)
    {
        var agents = new Command("agents", "run (up) or stop (down) one overlayctl agent per netns:// host, detached, pid and log under /run/overlayctl/lab/CLUSTER");
        foreach (var up in new[] { true, false })
        {
            var spec = CommandSet.SpecOption();
            var limit = new Option<string?>("--limit") { Description = "only these hosts: comma-separated names or patterns (node[1-3], !node2), or @FILE", HelpName = "PATTERN,..." };
            var resync = new Option<string?>("--resync") { Description = "passed to each agent", HelpName = "DURATION" };
            var command = up
                ? new Command("up", "start the agent of each host that has none running") { spec, limit, resync }
                : new Command("down", "stop the agents (SIGTERM: the network stays as it is)") { spec, limit };
            command.SetAction(commands.Action(async (context, ct) =>
            {
                var cluster = context.LoadSpec(spec);
                var hosts = LeaseCoordinator.Targets(cluster, Limits.Expand(context.Parse.GetValue(limit)));
                var manager = new LabAgents(context.Processes);
                var result = up
                    ? await manager.UpAsync(cluster, cluster.SourcePath, hosts, AgentCommand.Self(),
                        context.Parse.GetValue(resync) is { } every ? ["--resync", every] : [], ct).ConfigureAwait(false)
                    : await manager.DownAsync(cluster, hosts, ct).ConfigureAwait(false);
                context.Out.Write(result, LabJsonContext.Default.LabResult, Human);
                return ExitCodes.Ok;
            }));
            agents.Subcommands.Add(command);
        }
        return agents;
    }

    private static string Human(LabResult r) =>
        string.Concat(r.Created.Select(c => $"+ {c}\n")) + string.Concat(r.Removed.Select(c => $"- {c}\n"))
        + (r.Created.Count + r.Removed.Count == 0 ? "nothing to do\n" : "");

    private static Command Step(CommandSet commands, string name, string description, Func<LabManager, Core.Spec.ClusterSpec, CancellationToken, Task<LabResult>> run)
    {
        var spec = CommandSet.SpecOption();
        var command = new Command(name, description) { spec };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var result = await run(new LabManager(context.Processes), cluster, ct).ConfigureAwait(false);
            context.Out.Write(result, LabJsonContext.Default.LabResult, Human);
            return ExitCodes.Ok;
        }));
        return command;
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LabResult))]
internal sealed partial class LabJsonContext : JsonSerializerContext;
