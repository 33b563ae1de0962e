using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Hosts.Observe;

/// <summary>
/// The kernel's notifications of an agent's own changes: a route, neighbour or fdb entry it has just added
/// comes back through <see cref="KernelMonitor"/> like anyone's. Waking on them costs a second observation
/// that finds nothing to do, on every host, for every join. An echo is a monitor line whose object (its
/// first word: a route's destination, a neighbour's address of either family, an fdb entry's MAC) is one the plan's
/// <c>ip</c>/<c>bridge</c> steps named, in the same direction (<c>Deleted</c> for a removal), seen while
/// the plan runs and for <see cref="Grace"/> after. Anything else (a link, an address, a rule, an object the
/// plan did not touch, or the opposite change to one it did) still wakes the agent.
/// </summary>
public sealed class KernelEcho
{
    /// <summary>How long after a plan finished its notifications may still be arriving.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private readonly HashSet<string> _added;
    private readonly HashSet<string> _removed;
    private long _untilTicks = long.MaxValue;

    private KernelEcho(HashSet<string> added, HashSet<string> removed)
    {
        _added = added;
        _removed = removed;
    }

    /// <summary>What executing <paramref name="plan"/> will echo; open until <see cref="Finished"/> plus <see cref="Grace"/>.</summary>
    public static KernelEcho Of(HostPlan plan)
    {
        var added = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var removed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var operation in plan.Operations)
        {
            var into = operation.Kind == ChangeKind.Remove ? removed : added;
            foreach (var step in operation.Steps)
            {
                var arguments = step switch { IpStep ip => ip.Arguments, BridgeStep bridge => bridge.Arguments, _ => [] };
                into.UnionWith(arguments.Where(IsObject));
            }
        }
        return new KernelEcho(added, removed);
    }

    /// <summary>The plan has run (or failed) at <paramref name="now"/>: its echoes end <see cref="Grace"/> later.</summary>
    public void Finished(DateTimeOffset now) => Volatile.Write(ref _untilTicks, (now + Grace).UtcTicks);

    /// <summary>Whether <paramref name="line"/>, seen at <paramref name="now"/>, is this plan's own change coming back.</summary>
    public bool Explains(string line, DateTimeOffset now)
    {
        if (now.UtcTicks > Volatile.Read(ref _untilTicks)) return false;
        var tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0) return false;
        return tokens[0] == "Deleted"
            ? tokens.Length > 1 && _removed.Contains(tokens[1])
            : _added.Contains(tokens[0]);
    }

    private static bool IsObject(string argument) =>
        Ipv4Cidr.TryParse(argument, out _) || Ipv4Address.TryParse(argument, out _) || MacAddress.TryParse(argument, out _)
        || Ipv6.TryParseAddress(argument, out _) || Ipv6.TryParse(argument, out _);
}
