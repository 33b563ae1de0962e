using System.Text.Json.Serialization;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;

namespace OverlayCtl.Engine;

/// <summary>
/// A plan as data, what <c>plan -out FILE</c> writes and <c>plan -o json</c> prints: each host's
/// operations with their exact commands, and what the plan was made from (the spec's digest, the etcd
/// revision and a fingerprint of the leases, a fingerprint of each host's observed state), so that
/// <c>apply FILE</c> can refuse a plan the world has moved past.
/// </summary>
public sealed record PlanDocument(string Format, DateTimeOffset Created, PlannedSpec Spec, PlannedEtcd Etcd, IReadOnlyList<HostReport> Hosts)
{
    /// <summary>The format's name and version; a file with another is refused, never guessed at.</summary>
    public const string CurrentFormat = "overlayctl-plan/v1";

    public static PlanDocument From(PlanResult plan, PlannedSpec spec, DateTimeOffset created) => new(
        CurrentFormat, created, spec, new PlannedEtcd(plan.Leases.Revision, Fingerprint.Of(plan.Leases)),
        plan.Outcomes.Select(o => HostReport.From(o, plan.Provisional.Contains(o.Host), o.Observed is { } state ? Fingerprint.Of(state) : null)).ToList());
}

/// <summary>The spec a plan was made from: its path and the SHA-256 of its text.</summary>
public sealed record PlannedSpec(string Path, string Sha256);

/// <summary>The leases a plan was made from: etcd's revision then, and the fingerprint of everything under the prefix.</summary>
public sealed record PlannedEtcd(long Revision, string Fingerprint);

/// <summary>
/// One host's part of a plan or a run: its subnet (<see cref="Provisional"/> when apply would allocate it),
/// the recap, every operation, the plan's warnings, and (after an apply that changed daemon.json) the
/// docker restart. <see cref="Fingerprint"/> is set in plans only.
/// </summary>
public sealed record HostReport(
    string Host, string? Subnet, bool Provisional, string Result, string? Error, int Add, int Change, int Replace, int Remove,
    IReadOnlyList<OperationReport> Operations, IReadOnlyList<string> Warnings, DockerRestart? DockerRestart,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Fingerprint = null)
{
    public static HostReport From(HostOutcome o, bool provisional, string? fingerprint = null) => new(
        o.Host, o.Lease?.Subnet.ToString(), provisional, o.Result.ToString().ToLowerInvariant(), o.Error,
        o.Plan?.Count(ChangeKind.Add) ?? 0, o.Plan?.Count(ChangeKind.Change) ?? 0, o.Plan?.Count(ChangeKind.Replace) ?? 0, o.Plan?.Count(ChangeKind.Remove) ?? 0,
        o.Plan?.Operations.Select(OperationReport.From).ToList() ?? [], o.Plan?.Warnings ?? [], o.DockerRestart, fingerprint);
}

/// <summary>
/// One planned operation: its action (<see cref="Kind"/>), the resource's type and name, what it is and
/// will be when it changes, and the exact commands (a replacement's delete and create, one per line).
/// </summary>
public sealed record OperationReport(string Kind, string Type, string Resource, string? Before, string? After, string Command)
{
    public static OperationReport From(Operation op) =>
        new(op.Kind.ToString().ToLowerInvariant(), op.Address.Type, op.Address.ToString(), op.Before, op.After, op.Render());
}

/// <summary>A saved plan that no longer matches etcd, a host or the spec: applying it would not do what was reviewed. Nothing was changed.</summary>
public sealed class StalePlanException(IReadOnlyList<string> reasons)
    : Exception("the saved plan is stale, nothing was changed: " + string.Join("; ", reasons) + "; run overlayctl plan -out FILE again and review it")
{
    public IReadOnlyList<string> Reasons { get; } = reasons;
}
