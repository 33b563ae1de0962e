using System.CommandLine;
using System.Text.Json.Serialization;
using OverlayCtl.Hosts.Lab;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl lab up|down</c>: the spec's netns:// hosts as namespaces on this machine.</summary>
internal static class LabCommands
{
    public static Command Create(CommandSet commands)
    {
        var lab = new Command("lab", "namespace hosts on this machine, to try a spec (hosts with connection: netns://NAME)");
        lab.Subcommands.Add(Step(commands, "up", "create each netns:// host: a namespace with its interface and address on a shared underlay bridge", (m, s, ct) => m.UpAsync(s, ct)));
        lab.Subcommands.Add(Step(commands, "down", "remove the namespaces, veths and the underlay bridge that lab up made", (m, s, ct) => m.DownAsync(s, ct)));
        return lab;
    }

    private static Command Step(CommandSet commands, string name, string description, Func<LabManager, Core.Spec.ClusterSpec, CancellationToken, Task<LabResult>> run)
    {
        var spec = CommandSet.SpecOption();
        var command = new Command(name, description) { spec };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var result = await run(new LabManager(context.Processes), cluster, ct).ConfigureAwait(false);
            context.Out.Write(result, LabJsonContext.Default.LabResult, r =>
                string.Concat(r.Created.Select(c => $"+ {c}\n"))
                + string.Concat(r.Removed.Select(c => $"- {c}\n"))
                + (r.Created.Count + r.Removed.Count == 0 ? $"lab {name}: nothing to do\n" : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LabResult))]
internal sealed partial class LabJsonContext : JsonSerializerContext;
