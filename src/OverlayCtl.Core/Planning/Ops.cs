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

    public static Operation Ip(ChangeKind kind, ResourceAddress address, params string[] args) => new(kind, address, new IpStep(args));

    public static Operation Bridge(ChangeKind kind, ResourceAddress address, params string[] args) => new(kind, address, new BridgeStep(args));

    public static Operation Vsctl(ChangeKind kind, ResourceAddress address, string? db, params string[] args) => new(kind, address, new OvsStep(db, args));

    public static Operation Run(ChangeKind kind, ResourceAddress address, string program, params string[] args) => new(kind, address, new CommandStep(new CommandSpec(program, args)));

    /// <summary>The operation, showing what the resource is now and what it will be.</summary>
    public static Operation Shows(this Operation operation, string? before, string after) => operation with { Before = before, After = after };

    public static Operation Shows(this Operation operation, (string Before, string After) change) => operation.Shows(change.Before, change.After);

    /// <summary>Deletes a resource and creates it again, as one operation.</summary>
    public static Operation Replace(ResourceAddress address, Step delete, Step create) => new(ChangeKind.Replace, address, [delete, create]);
}
