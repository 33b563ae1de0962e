using System.CommandLine;
using System.Text.Json.Serialization;
using OverlayCtl.Engine;
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
            await context.Engine(cluster, store).Leases.AllocateAsync(cluster.Hosts, ct).ConfigureAwait(false);
            Print(context, cluster, await store.SnapshotAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command List(CommandSet commands)
    {
        var spec = new Option<string?>("--file", "-f") { Description = $"the cluster spec ({SpecFile.DefaultDescription}; with none, give --endpoints and --prefix)", HelpName = "SPEC" };
        var prefix = new Option<string?>("--prefix") { Description = $"etcd key prefix when no spec is given (default {EtcdSpec.DefaultPrefix})" };
        var command = new Command("list", "list leases: subnet, host address, backend, VTEP MAC and the spec host holding it") { spec, prefix };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadOptionalSpec(spec);
            var store = context.OpenLeaseStore(cluster, context.Parse.GetValue(prefix));
            Print(context, cluster, await store.SnapshotAsync(ct).ConfigureAwait(false));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Release(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var host = new Argument<string?>("HOST") { Description = "the spec host whose lease to delete", Arity = ArgumentArity.ZeroOrOne };
        var key = new Option<string?>("--key") { Description = "delete this key under <prefix>/subnets/ instead: one that leases list reports as unreadable", HelpName = "KEY" };
        var lockTimeout = CommandSet.LockTimeoutOption();
        var command = new Command("release", "delete a host's lease (its subnet becomes free), or with --key an unreadable lease key") { spec, host, key, lockTimeout };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var (name, rawKey) = (context.Parse.GetValue(host), context.Parse.GetValue(key));
            if ((name is null) == (rawKey is null)) throw new UsageException("name a HOST, or give --key KEY (one of the two)");
            var store = context.OpenLeaseStore(cluster);
            await using var held = await store.LockAsync(context.LockHolder, context.LockWait(lockTimeout), ct).ConfigureAwait(false);
            if (rawKey is not null)
            {
                var deleted = await store.ReleaseKeyAsync(rawKey, ct).ConfigureAwait(false);
                context.Log.Information(deleted ? "deleted {Key}" : "{Key} does not exist", rawKey);
                return ExitCodes.Ok;
            }
            var target = cluster.FindHost(name!)
                ?? throw new UsageException($"{name} is not a host in {cluster.SourcePath} (hosts: {string.Join(", ", cluster.Hosts.Select(h => h.Name))})");
            var all = await store.ListAsync(ct).ConfigureAwait(false);
            if (!LeaseCoordinator.HeldBy(cluster, all).TryGetValue(target.Name, out var lease))
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
        var lockTimeout = CommandSet.LockTimeoutOption();
        var command = new Command("gc", "list leases whose holders are not in the spec (dead hosts) and lease keys that cannot be read; with --yes, delete them. Never touches a spec host's lease") { spec, yes, lockTimeout };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var store = context.OpenLeaseStore(cluster);
            var addresses = cluster.Hosts.Select(h => h.Address).ToHashSet();
            var snapshot = await store.SnapshotAsync(ct).ConfigureAwait(false);
            var stale = snapshot with { Leases = snapshot.Leases.Where(l => !addresses.Contains(l.PublicIp)).ToList() };
            if (context.Parse.GetValue(yes))
            {
                await using var held = await store.LockAsync(context.LockHolder, context.LockWait(lockTimeout), ct).ConfigureAwait(false);
                foreach (var lease in stale.Leases)
                {
                    await store.ReleaseAsync(lease.Subnet, ct).ConfigureAwait(false);
                    context.Log.Information("released {Subnet} held by {Address}", lease.Subnet, lease.PublicIp);
                }
                foreach (var entry in stale.Unreadable)
                {
                    await store.ReleaseKeyAsync(entry.Key, ct).ConfigureAwait(false);
                    context.Log.Information("deleted unreadable {Key}", entry.Key);
                }
            }
            else if (stale.Leases.Count + stale.Unreadable.Count > 0)
            {
                context.Log.Information("{Count} stale lease(s) and {Unreadable} unreadable key(s); run again with --yes to delete them", stale.Leases.Count, stale.Unreadable.Count);
            }
            Print(context, cluster, stale, warn: false);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Prints the leases, and the keys that are not leases: in the data, and as warnings for whoever reads the terminal.</summary>
    private static void Print(CliContext context, ClusterSpec? cluster, LeaseSnapshot snapshot, bool warn = true)
    {
        if (warn && snapshot.ConfigProblem is { } problem) context.Log.Warning("{Problem} (apply writes the spec's config over it)", problem);
        foreach (var entry in warn ? snapshot.Unreadable : [])
            context.Log.Warning("{Key} is not a lease overlayctl can read: {Problem}; {Taken}delete it with overlayctl leases release --key, or leases gc --yes",
                entry.Key, entry.Problem, entry.Subnet is { } s ? $"{s} is treated as taken; " : "");
        var rows = snapshot.Leases.Select(l => new LeaseRow(
            l.Subnet.ToString(),
            l.PublicIp.ToString(),
            l.BackendType,
            l.VtepMac?.Text,
            l.Vni,
            l.PublicKey,
            l.Port,
            cluster?.Hosts.FirstOrDefault(h => h.Address == l.PublicIp)?.Name,
            l.EtcdLeaseId == 0 ? null : l.EtcdLeaseId)
        {
            Subnet6 = l.Subnet6?.ToString(),
            PublicIpv6 = l.PublicIpv6?.ToString(),
        }).ToList();
        var unreadable = snapshot.Unreadable.Select(u => new UnreadableRow(u.Key, u.Subnet?.ToString(), u.Problem) { Subnet6 = u.Subnet6?.ToString() }).ToList();
        context.Out.Write(new LeaseList(rows, unreadable), LeasesJsonContext.Default.LeaseList, list =>
        {
            // Optional columns appear only when some row has them, so an IPv4-only vxlan cluster's table is as it was:
            // the IPv6 halves of dual-stack leases, a VTEP's MAC, a WireGuard peer's public key.
            var v6 = list.Leases.Any(r => r.Subnet6 is not null) || list.Unreadable.Any(u => u.Subnet6 is not null);
            var keys = list.Leases.Any(r => r.PublicKey is not null);
            var macs = !keys || list.Leases.Any(r => r.VtepMac is not null);
            string?[] Row(string subnet, string? subnet6, string ip, string? ip6, string backend, string? mac, string? key, string? host) =>
                [subnet, .. v6 ? new[] { subnet6 } : [], ip, .. v6 ? new[] { ip6 } : [], backend, .. macs ? new[] { mac } : [], .. keys ? new[] { key } : [], host];
            var table = new Table(Row("SUBNET", "SUBNET6", "PUBLIC IP", "PUBLIC IPV6", "BACKEND", "VTEP MAC", "PUBLIC KEY", "HOST")!);
            foreach (var r in list.Leases) table.Add(Row(r.Subnet, r.Subnet6, r.PublicIp, r.PublicIpv6, r.Backend, r.VtepMac, r.PublicKey, r.Host));
            foreach (var u in list.Unreadable) table.Add(Row(u.Subnet ?? "-", u.Subnet6, "?", null, "?", null, null, "(unreadable key)"));
            return table.Render();
        });
    }
}

/// <summary>The shape of <c>leases list -o json</c>.</summary>
internal sealed record LeaseList(IReadOnlyList<LeaseRow> Leases, IReadOnlyList<UnreadableRow> Unreadable);

/// <summary>A key under the subnets prefix that is not a usable lease; <see cref="Subnet"/> is the range it keeps taken.</summary>
internal sealed record UnreadableRow(string Key, string? Subnet, string Problem)
{
    /// <summary>The IPv6 range the key names; left out of the JSON when none, so IPv4-only output keeps its shape.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Subnet6 { get; init; }
}

/// <summary>
/// One lease; <see cref="Host"/> is null when no spec host holds it. <see cref="PublicKey"/> and <see cref="Port"/>
/// are a WireGuard lease's (the public half only: a private key never reaches etcd).
/// </summary>
internal sealed record LeaseRow(string Subnet, string PublicIp, string Backend, string? VtepMac, int? Vni, string? PublicKey, int? Port, string? Host, long? EtcdLease)
{
    /// <summary>The IPv6 half of a dual-stack lease; left out of the JSON when none, so IPv4-only output keeps its shape.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Subnet6 { get; init; }

    /// <summary>The holder's IPv6 underlay address (PublicIPv6), on a dual-stack lease.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PublicIpv6 { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LeaseList))]
internal sealed partial class LeasesJsonContext : JsonSerializerContext;
