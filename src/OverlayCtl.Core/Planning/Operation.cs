using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Core.Planning;

/// <summary>What an operation does to its resource, for the plan summary.</summary>
public enum ChangeKind
{
    Add,
    Change,

    /// <summary>
    /// Deleted and created again, because what is wrong cannot be changed in place (a VXLAN device's VNI,
    /// local address, port or MAC): one operation holding both steps, as terraform's DeleteThenCreate.
    /// </summary>
    Replace,
    Remove,
}

/// <summary>
/// One change to one resource on one host. A plan is a list of these: printable, diffable and
/// executable, in order. Most operations have one step; a <see cref="ChangeKind.Replace"/> has its delete
/// and its create.
/// </summary>
public sealed record Operation(ChangeKind Kind, ResourceAddress Address, IReadOnlyList<Step> Steps)
{
    public Operation(ChangeKind kind, ResourceAddress address, Step step) : this(kind, address, [step])
    {
    }

    /// <summary>What the resource is now, for a change people should see before it happens (<c>mtu 1400</c>); null when it is simply absent or present.</summary>
    public string? Before { get; init; }

    /// <summary>What it will be (<c>mtu 1450</c>), shown with <see cref="Before"/> as <c>1400 → 1450</c>.</summary>
    public string? After { get; init; }

    /// <summary>The resource as the plan names it, with before → after when the operation carries them.</summary>
    public string Title => Before is null || After is null ? Address.ToString() : $"{Address}: {Before} → {After}";

    /// <summary>The steps exactly as they would run, one per line.</summary>
    public string Render() => string.Join('\n', Steps.Select(s => s.Render()));

    /// <summary>How plan and status mark the operation: + add, ~ change, -/+ replace, - remove (terraform's signs).</summary>
    public string Sign => Kind switch { ChangeKind.Add => "+", ChangeKind.Change => "~", ChangeKind.Replace => "-/+", _ => "-" };
}

/// <summary>The ordered operations for one host.</summary>
public sealed record HostPlan(string Host, IReadOnlyList<Operation> Operations)
{
    public int Count(ChangeKind kind) => Operations.Count(o => o.Kind == kind);

    public bool IsEmpty => Operations.Count == 0;

    /// <summary>
    /// What the plan deliberately leaves undone and the operator should know (a bridge kept because a
    /// container is attached): printed under the host's operations and in <c>-o json</c>.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>
    /// Replacements are named only when there are some (as terraform names imports), so a plan without one
    /// reads as it always has.
    /// </summary>
    public string Summary => $"{Host}: {Count(ChangeKind.Add)} to add, {Count(ChangeKind.Change)} to change, "
        + (Count(ChangeKind.Replace) is var replace and > 0 ? $"{replace} to replace, " : "")
        + $"{Count(ChangeKind.Remove)} to remove";
}

/// <summary>A whole plan: one entry per host, in spec order.</summary>
public sealed record Plan(IReadOnlyList<HostPlan> Hosts)
{
    public bool IsEmpty => Hosts.All(h => h.IsEmpty);
}
