using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Core.Planning;

/// <summary>
/// How an operation is carried out. Each kind of step is its own type, so the executor chooses how to run
/// it (batched, one transaction, one payload) by type, never by reading a command back.
/// </summary>
public abstract record Step
{
    /// <summary>Rendered exactly as it would run.</summary>
    public abstract string Render();
}

/// <summary>
/// One <c>ip</c> command. Consecutive ones run as one <c>ip -batch -</c> process, so the arguments must be
/// batch-safe (no spaces).
/// </summary>
public sealed record IpStep(IReadOnlyList<string> Arguments) : Step
{
    public const string Program = "ip";

    public CommandSpec ToCommand() => new(Program, Arguments);

    public override string Render() => ToCommand().ToString();
}

/// <summary>One <c>bridge</c> command (fdb entries); consecutive ones run as one <c>bridge -batch -</c> process.</summary>
public sealed record BridgeStep(IReadOnlyList<string> Arguments) : Step
{
    public const string Program = "bridge";

    public CommandSpec ToCommand() => new(Program, Arguments);

    public override string Render() => ToCommand().ToString();
}

/// <summary>
/// One <c>ovs-vsctl</c> command (which may chain several with <c>--</c>) against the database at
/// <see cref="Db"/> (null: ovs-vsctl's own). Consecutive ones for the same database run as one invocation,
/// which ovs-vsctl applies as a single transaction.
/// </summary>
public sealed record OvsStep(string? Db, IReadOnlyList<string> Arguments) : Step
{
    public const string Program = "ovs-vsctl";

    /// <summary>ovs-vsctl's global options for <paramref name="db"/>; what every command of one transaction shares.</summary>
    public static IReadOnlyList<string> Options(string? db) => db is null ? ["--timeout=10"] : ["--db=" + db, "--timeout=10"];

    public CommandSpec ToCommand() => new(Program, [.. Options(Db), "--", .. Arguments]);

    public override string Render() => ToCommand().ToString();
}

/// <summary>
/// One command run on its own (sysctl, ethtool, wg): nothing batches it. <see cref="ProgramName"/>: the command is
/// a fixed <c>sh -c PROGRAM sh ARGS...</c> program (its values only as arguments), rendered as
/// <c>sh -c &lt;NAME&gt; sh ARGS...</c> so a plan stays readable; docs/backends.md lists each program.
/// </summary>
public sealed record CommandStep(CommandSpec Command, string? ProgramName = null) : Step
{
    /// <summary>A fixed sh program named <paramref name="name"/>, taking <paramref name="arguments"/> as $1, $2, ...</summary>
    public static CommandStep Sh(string name, string program, params string[] arguments) => new(new CommandSpec("sh", ["-c", program, "sh", .. arguments]), name);

    public override string Render() => ProgramName is null
        ? Command.ToString()
        : new CommandSpec("sh", ["-c", $"<{ProgramName}>", .. Command.Arguments.Skip(2)]).ToString();
}

/// <summary>
/// Lines for one iptables table (<c>:CHAIN - [0:0]</c>, <c>-A ...</c>, <c>-D ...</c>, <c>-X CHAIN</c>).
/// Every such step of a host is merged into one <c>iptables-restore --noflush --wait</c> payload.
/// </summary>
public sealed record IptablesStep(string Table, IReadOnlyList<string> Lines, bool Ipv6 = false) : Step
{
    /// <summary>The restore program: <c>ip6tables-restore</c> for an IPv6 step, whose lines go into a payload of their own.</summary>
    public string Program => Ipv6 ? "ip6tables-restore" : "iptables-restore";

    public override string Render() => $"{Program} --noflush: *{Table} " + string.Join(" ; ", Lines) + " ; COMMIT";
}

/// <summary>
/// Writes (atomically, through a link, keeping mode and owner) or, when <see cref="Content"/> is null, deletes
/// a file. <see cref="Backup"/>: where the file's original is kept before this first write changes it.
/// </summary>
public sealed record FileStep(string Path, string? Content, string? Backup = null) : Step
{
    public override string Render() => Content is null ? $"rm -f {Path}"
        : $"write {Path} ({Content.Length} bytes)" + (Backup is null ? "" : $", original kept as {Backup}");
}
