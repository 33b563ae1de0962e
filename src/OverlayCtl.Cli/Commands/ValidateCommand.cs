using System.CommandLine;
using System.Text.Json.Serialization;
using OverlayCtl.Cli.Output;
using OverlayCtl.Etcd;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl validate -f SPEC</c>: check a spec without touching etcd or any host.</summary>
internal static class ValidateCommand
{
    public static Command Create(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var command = new Command("validate", "check a cluster spec and the etcd settings (TLS files, endpoints) without contacting etcd or any host; prints the resolved settings, or every problem with file:line:column") { spec };
        command.SetAction(commands.Action((context, _) =>
        {
            var cluster = context.LoadSpec(spec);
            // The etcd settings too: a TLS file named in the spec or by a flag that is missing fails here, not at the first apply.
            // validate touches no etcd, but the TLS files it would use are checked all the same.
            EtcdTls.Load(context.EtcdOptions(cluster).Tls)?.Dispose();
            var result = new ValidateResult(
                cluster.SourcePath,
                cluster.Name,
                cluster.Network.Cidr.ToString(),
                cluster.Network.SubnetLength,
                cluster.Network.SubnetMin.ToString(),
                cluster.Network.SubnetMax.ToString(),
                cluster.Network.Backend.Name,
                cluster.Hosts.Select(h => new ValidatedHost(h.Name, h.Address.ToString(), h.Interface, h.Subnet?.ToString(), h.Connection.ToString())).ToList());
            context.Out.Write(result, ValidateJsonContext.Default.ValidateResult, Human);
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    private static string Human(ValidateResult r)
    {
        var table = new Table("HOST", "ADDRESS", "INTERFACE", "PINNED SUBNET", "CONNECTION");
        foreach (var h in r.Hosts) table.Add(h.Name, h.Address, h.Interface, h.Subnet, h.Connection);
        return $"{r.File}: valid. cluster {r.Name}: {r.Network} in /{r.SubnetLength} subnets {r.SubnetMin}..{r.SubnetMax}, backend {r.Backend}\n" + table.Render();
    }
}

/// <summary>The shape of <c>validate -o json</c>.</summary>
internal sealed record ValidateResult(
    string File, string Name, string Network, int SubnetLength, string SubnetMin, string SubnetMax, string Backend, IReadOnlyList<ValidatedHost> Hosts);

/// <summary>One host as the spec resolves it.</summary>
internal sealed record ValidatedHost(string Name, string Address, string? Interface, string? Subnet, string Connection);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ValidateResult))]
internal sealed partial class ValidateJsonContext : JsonSerializerContext;
