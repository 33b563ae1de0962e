using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;

namespace OverlayCtl.Engine;

/// <summary>How one host ended: its plan, whether it was carried out, and why not.</summary>
public sealed record HostOutcome(string Host, Lease? Lease, HostPlan? Plan, HostResult Result, string? Error)
{
    /// <summary>The live state the plan was made from, when the host could be observed.</summary>
    public ObservedHost? Observed { get; init; }

    /// <summary>Set when apply changed daemon.json: dockerd must restart to use the new bip.</summary>
    public DockerRestart? DockerRestart { get; init; }

    public static HostOutcome Failed(string host, Lease? lease, string error) => new(host, lease, null, HostResult.Failed, error);
}

/// <summary>
/// dockerd reads daemon.json only when it starts: the <see cref="Bip"/> it must restart to use, the
/// <c>docker.restart</c> command apply ran for it (null: none in the spec, the operator restarts it), and
/// whether it ran (after which the docker bridge held the gateway).
/// </summary>
public sealed record DockerRestart(string Bip, string? Command, bool Ran);

/// <summary>The recap states, as Ansible operators know them.</summary>
public enum HostResult
{
    Ok,
    Changed,
    Failed,
}

/// <summary>One host's result of <see cref="ClusterRunner.InspectAsync{T}"/>: a value, or the error that stopped it.</summary>
public sealed record Inspection<T>(string Host, Lease? Lease, T? Value, string? Error);

/// <summary>Told as hosts are driven, so a front end can show progress; the engine never prints.</summary>
public interface IClusterProgress
{
    void Start(int hosts);

    void HostDone(string host, bool ok);
}

/// <summary>One host's live state as read before planning, or why it could not be read.</summary>
public sealed record Observation(string Host, ObservedHost? State, string? Error)
{
    /// <summary>The states of the hosts that could be read, by name.</summary>
    public static IReadOnlyDictionary<string, ObservedHost> States(IReadOnlyDictionary<string, Observation> observed) =>
        observed.Values.Where(o => o.State is not null).ToDictionary(o => o.Host, o => o.State!, StringComparer.Ordinal);
}
