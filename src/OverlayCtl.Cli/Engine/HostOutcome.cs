using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;

namespace OverlayCtl.Cli.Engine;

/// <summary>How one host ended: its plan, whether it was carried out, and why not.</summary>
internal sealed record HostOutcome(string Host, Lease? Lease, HostPlan? Plan, HostResult Result, string? Error)
{
    /// <summary>The live state the plan was made from, when the host could be observed.</summary>
    public ObservedHost? Observed { get; init; }

    public static HostOutcome Failed(string host, Lease? lease, string error) => new(host, lease, null, HostResult.Failed, error);
}

/// <summary>The recap states, as Ansible operators know them.</summary>
internal enum HostResult
{
    Ok,
    Changed,
    Failed,
}
