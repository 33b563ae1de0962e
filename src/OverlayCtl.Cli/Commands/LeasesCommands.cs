using System.CommandLine;
using System.Text.Json.Serialization;
using OverlayCtl.Cli.Engine;
using OverlayCtl.Cli.Output;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl leases allocate|list|release</c>: the subnets in etcd, by host.</summary>
internal static class LeasesCommands
{
    public static Command Create(CommandSet commands)
    {
        var leases = new Command("leases", "subnet leases in etcd (flannel's layout)");
        leases.Subcommands.Add(Allocate(commands));
        leases.Subcommands.Add(List(commands));
        leases.Subcommands.Add(Release(commands));
        leases.Subcommands.Add(Gc(commands));
        return leases;
    }

    private static Command Allocate(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var command = new Command("allocate", "make sure every host in the spec holds a lease (atomic, stable across runs); prints them") { spec };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var store = context.OpenLeaseStore(cluster);
            var driver = context.Driver(cluster, store);
            await driver.AllocateAsync(cluster.Hosts, ct).ConfigureAwait(false);
            Print(context, cluster, await store.ListAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(CommandSet commands)
    {
        var spec = new Option<string?>("--file", "-f") { Description = "the cluster spec (optional: without it, give --endpoints and --prefix)", HelpName = "SPEC" };
        var prefix = new Option<string?>("--prefix") { Description = $"etcd key prefix when no spec is given (default {EtcdSpec.DefaultPrefix})" };
        var command = new Command("list", "list leases: subnet, host address, backend, VTEP MAC and the spec host holding it") { spec, prefix };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var path = context.Parse.GetValue(spec);
            var cluster = path is null ? null : SpecLoader.Load(path);
            var store = context.OpenLeaseStore(cluster, context.Parse.GetValue(prefix));
            Print(context, cluster, await store.ListAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Release(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var host = new Argument<string>("HOST") { Description = "the spec host whose lease to delete" };
        var command = new Command("release", "delete a host's lease (its subnet becomes free)") { spec, host };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var name = context.Parse.GetRequiredValue(host);
            var target = cluster.FindHost(name)
                ?? throw new UsageException($"{name} is not a host in {cluster.SourcePath} (hosts: {string.Join(", ", cluster.Hosts.Select(h => h.Name))})");
            var store = context.OpenLeaseStore(cluster);
            var all = await store.ListAsync(ct).ConfigureAwait(false);
            if (!ClusterDriver.HeldBy(cluster, all).TryGetValue(target.Name, out var lease))
            {
                context.Log.Information("{Host} ({Address}) holds no lease", target.Name, target.Address);
                return ExitCodes.Ok;
            }
            await store.ReleaseAsync(lease.Subnet, ct).ConfigureAwait(false);
            context.Log.Information("{Host}: released {Subnet}", target.Name, lease.Subnet);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Gc(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var yes = new Option<bool>("--yes") { Description = "release them (without it, only list them)" };
        var command = new Command("gc", "list leases whose holders are not in the spec (dead hosts); with --yes, release them. Never touches a spec host's lease") { spec, yes };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var store = context.OpenLeaseStore(cluster);
            var addresses = cluster.Hosts.Select(h => h.Address).ToHashSet();
            var stale = (await store.ListAsync(ct).ConfigureAwait(false)).Where(l => !addresses.Contains(l.PublicIp)).ToList();
            if (context.Parse.GetValue(yes))
            {
                foreach (var lease in stale)
                {
                    await store.ReleaseAsync(lease.Subnet, ct).ConfigureAwait(false);
                    context.Log.Information("released {Subnet} held by {Address}", lease.Subnet, lease.PublicIp);
                }
            }
            else if (stale.Count > 0)
            {
                context.Log.Information("{Count} stale lease(s); run again with --yes to release them", stale.Count);
            }
            Print(context, cluster, stale);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Print(CliContext context, ClusterSpec? cluster, IReadOnlyList<Lease> leases)
    {
        var rows = leases.Select(l => new LeaseRow(
            l.Subnet.ToString(),
            l.PublicIp.ToString(),
            l.BackendType,
            l.VtepMac?.Text,
            l.Vni,
            cluster?.Hosts.FirstOrDefault(h => h.Address == l.PublicIp)?.Name,
            l.EtcdLeaseId == 0 ? null : l.EtcdLeaseId)).ToList();
        context.Out.Write(new LeaseList(rows), LeasesJsonContext.Default.LeaseList, list =>
        {
            var table = new Table("SUBNET", "PUBLIC IP", "BACKEND", "VTEP MAC", "HOST");
            foreach (var r in list.Leases) table.Add(r.Subnet, r.PublicIp, r.Backend, r.VtepMac, r.Host);
            return table.Render();
        });
    }
}

/// <summary>The shape of <c>leases list -o json</c>.</summary>
internal sealed record LeaseList(IReadOnlyList<LeaseRow> Leases);

/// <summary>One lease; <see cref="Host"/> is null when no spec host holds it.</summary>
internal sealed record LeaseRow(string Subnet, string PublicIp, string Backend, string? VtepMac, int? Vni, string? Host, long? EtcdLease);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LeaseList))]
internal sealed partial class LeasesJsonContext : JsonSerializerContext;
