using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Planning;

/// <summary>
/// Another lease holder this host must reach. <see cref="HostName"/> is null when the holder is
/// not in the spec (a flannel node sharing the network, or a stale lease).
/// </summary>
public sealed record Peer(Lease Lease, string? HostName);

/// <summary>Everything the planner needs for one host; all plain values, no I/O.</summary>
public sealed record PlanInput(ClusterSpec Spec, HostSpec Host, Lease Lease, IReadOnlyList<Peer> Peers, ObservedHost Observed);
