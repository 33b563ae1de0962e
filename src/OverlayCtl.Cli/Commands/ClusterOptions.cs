using System.CommandLine;
using OverlayCtl.Engine;
using OverlayCtl.Core.Spec;
using OverlayCtl.Etcd;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// The options of every command that drives hosts (<c>-f</c>, <c>--limit</c>, <c>--parallel</c>) and
/// the one way to turn them into a spec, its targets, the lease store and the engine.
/// </summary>
/// <param name="locks">the command changes the cluster or its hosts (apply, destroy, verify's probes), so it takes the lock and offers --lock-timeout</param>
internal sealed class ClusterOptions(bool locks = false)
{
    public Option<string?> Spec { get; } = CommandSet.SpecOption();

    public Option<string?> Limit { get; } = new("--limit") { Description = "only these hosts: comma-separated names or patterns (node[1-3], web-*, !node2, &web-*), or @FILE (one per line, e.g. a retry file)", HelpName = "PATTERN,..." };

    public Option<int> Parallel { get; } = new("--parallel") { Description = "hosts driven at once, at least 1", HelpName = "N", DefaultValueFactory = _ => 10 };

    /// <summary>How long apply, destroy and verify wait for another run's cluster lock (default: fail at once, naming it).</summary>
    public Option<string?> LockTimeout { get; } = CommandSet.LockTimeoutOption();

    public IEnumerable<Option> All => locks ? [Spec, Limit, Parallel, LockTimeout] : [Spec, Limit, Parallel];

    public Opened Open(CliContext context)
    {
        var parallel = ParallelCount(context);
        var cluster = context.LoadSpec(Spec);
        var store = context.OpenLeaseStore(cluster);
        return new Opened(cluster, LeaseCoordinator.Targets(cluster, Limits.Expand(context.Parse.GetValue(Limit))), store, context.Engine(cluster, store, parallel, locks ? context.LockWait(LockTimeout) : TimeSpan.Zero));
    }

    /// <summary>
    /// <c>--parallel N</c>, checked before anything is read: 0 would drive no host at all and a negative count means
    /// nothing, so both are refused (one line, exit 1 as every usage error) rather than quietly run some other way.
    /// </summary>
    public int ParallelCount(CliContext context)
    {
        var n = context.Parse.GetValue(Parallel);
        return n >= 1 ? n : throw new UsageException($"--parallel {n}: drives no host (fix: give a count of at least 1, e.g. --parallel 1 for one host at a time)");
    }

    /// <summary>What a host-driving command works with.</summary>
    public sealed record Opened(ClusterSpec Cluster, IReadOnlyList<HostSpec> Targets, EtcdLeaseStore Store, ClusterEngine Engine);
}
