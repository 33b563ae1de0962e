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
                cluster.Hosts.Select(h => new ValidatedHost(h.Name, h.Address.ToString(), h.Interface, h.Subnet?.ToString(), h.Connection.ToString())
                {
                    Address6 = h.Address6?.ToString(),
                    Subnet6 = h.Subnet6?.ToString(),
                }).ToList())
            {
                Ipv6 = cluster.Network.Ipv6 is { } v6 ? new ValidatedIpv6(v6.Cidr.ToString(), v6.SubnetLength, v6.SubnetMin.ToString(), v6.SubnetMax.ToString()) : null,
            };
            context.Out.Write(result, ValidateJsonContext.Default.ValidateResult, Human);
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    private static string Human(ValidateResult r)
    {
        // The IPv6 columns only on a dual-stack spec: an IPv4-only one prints as it always did.
        var v6 = r.Ipv6;
        var table = v6 is null
            ? new Table("HOST", "ADDRESS", "INTERFACE", "PINNED SUBNET", "CONNECTION")
            : new Table("HOST", "ADDRESS", "ADDRESS6", "INTERFACE", "PINNED SUBNET", "PINNED SUBNET6", "CONNECTION");
        foreach (var h in r.Hosts)
            table.Add(v6 is null ? [h.Name, h.Address, h.Interface, h.Subnet, h.Connection] : [h.Name, h.Address, h.Address6, h.Interface, h.Subnet, h.Subnet6, h.Connection]);
        var ipv6 = v6 is null ? "" : $"IPv6 {v6.Network} in /{v6.SubnetLength} subnets {v6.SubnetMin}..{v6.SubnetMax}, ";
        return $"{r.File}: valid. cluster {r.Name}: {r.Network} in /{r.SubnetLength} subnets {r.SubnetMin}..{r.SubnetMax}, {ipv6}backend {r.Backend}\n" + table.Render();
    }
}

/// <summary>The shape of <c>validate -o json</c>.</summary>
internal sealed record ValidateResult(
    string File, string Name, string Network, int SubnetLength, string SubnetMin, string SubnetMax, string Backend, IReadOnlyList<ValidatedHost> Hosts)
{
    /// <summary>The IPv6 overlay of a dual-stack spec (<c>network.ipv6</c>, defaults resolved); left out of the JSON otherwise, so IPv4-only output keeps its shape.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ValidatedIpv6? Ipv6 { get; init; }
}

/// <summary>A dual-stack spec's IPv6 overlay as it resolves: network, subnet length and range.</summary>
internal sealed record ValidatedIpv6(string Network, int SubnetLength, string SubnetMin, string SubnetMax);

/// <summary>One host as the spec resolves it.</summary>
internal sealed record ValidatedHost(string Name, string Address, string? Interface, string? Subnet, string Connection)
{
    /// <summary>The host's IPv6 underlay address, when the spec names one; left out of the JSON otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Address6 { get; init; }

    /// <summary>The host's pinned IPv6 subnet, when the spec pins one; left out of the JSON otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Subnet6 { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ValidateResult))]
internal sealed partial class ValidateJsonContext : JsonSerializerContext;
