using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Core.Planning;

/// <summary>What an operation does to its resource, for the plan summary.</summary>
public enum ChangeKind
{
    Add,
    Change,
    Remove,
}

/// <summary>
/// One change to one resource on one host. A plan is a list of these: printable, diffable and
/// executable, in order. <see cref="Resource"/> names the thing ("route 10.244.2.0/24").
/// </summary>
public sealed record Operation(ChangeKind Kind, string Resource, Step Step);

/// <summary>How an operation is carried out.</summary>
public abstract record Step
{
    /// <summary>Rendered exactly as it would run.</summary>
    public abstract string Render();
}

/// <summary>
/// Runs one command. Consecutive steps for <c>ip</c> or <c>bridge</c> are executed as one
/// <c>ip -batch -</c> / <c>bridge -batch -</c> process, so the arguments must be batch-safe (no spaces).
/// </summary>
public sealed record CommandStep(CommandSpec Command) : Step
{
    public override string Render() => Command.ToString();
}

/// <summary>
/// Lines for one iptables table (<c>:CHAIN - [0:0]</c>, <c>-A ...</c>, <c>-D ...</c>, <c>-X CHAIN</c>).
/// Every such step of a host is merged into one <c>iptables-restore --noflush --wait</c> payload.
/// </summary>
public sealed record IptablesStep(string Table, IReadOnlyList<string> Lines) : Step
{
    public override string Render() => $"iptables-restore --noflush: *{Table} " + string.Join(" ; ", Lines) + " ; COMMIT";
}

/// <summary>Writes (atomically) or, when <see cref="Content"/> is null, deletes a file.</summary>
public sealed record FileStep(string Path, string? Content) : Step
{
    public override string Render() => Content is null ? $"rm -f {Path}" : $"write {Path} ({Content.Length} bytes)";
}

/// <summary>The ordered operations for one host.</summary>
public sealed record HostPlan(string Host, IReadOnlyList<Operation> Operations)
{
    public int Count(ChangeKind kind) => Operations.Count(o => o.Kind == kind);

    public bool IsEmpty => Operations.Count == 0;

    public string Summary => $"{Host}: {Count(ChangeKind.Add)} to add, {Count(ChangeKind.Change)} to change, {Count(ChangeKind.Remove)} to remove";
}

/// <summary>A whole plan: one entry per host, in spec order.</summary>
public sealed record Plan(IReadOnlyList<HostPlan> Hosts)
{
    public bool IsEmpty => Hosts.All(h => h.IsEmpty);
}
