using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Core.Planning;

/// <summary>Short constructors for operations, so planners read as the commands they emit.</summary>
public static class Ops
{
    /// <summary>
    /// The route protocol overlayctl stamps on its routes (<c>proto 211</c>): unassigned in iproute2's
    /// rt_protos, so "ours" is provable and destroy never touches an operator's route.
    /// </summary>
    public const string RouteProtocol = "211";

    public static Operation Ip(ChangeKind kind, string resource, params string[] args) => new(kind, resource, new CommandStep(new CommandSpec("ip", args)));

    public static Operation Bridge(ChangeKind kind, string resource, params string[] args) => new(kind, resource, new CommandStep(new CommandSpec("bridge", args)));

    /// <summary>
    /// One <c>ovs-vsctl</c> command (which may chain several with <c>--</c>). Consecutive ones for the same
    /// database run as one invocation, which ovs-vsctl applies as a single transaction.
    /// </summary>
    public static Operation Vsctl(ChangeKind kind, string resource, string? db, params string[] args)
    {
        var all = new List<string>();
        if (db is not null) all.Add("--db=" + db);
        all.AddRange(["--timeout=10", "--"]);
        all.AddRange(args);
        return new(kind, resource, new CommandStep(new CommandSpec("ovs-vsctl", all)));
    }

    public static Operation Run(ChangeKind kind, string resource, string program, params string[] args) => new(kind, resource, new CommandStep(new CommandSpec(program, args)));
}
