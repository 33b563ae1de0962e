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

    /// <summary>Ctrl-C (or SIGTERM) stopped the host's work, or came before it began: what ran stays, nothing more runs.</summary>
    public static HostOutcome Interrupted(string host, Lease? lease, string error) => new(host, lease, null, HostResult.Interrupted, error);
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
    /// <summary>Stopped by Ctrl-C or SIGTERM: not a failure of the host.</summary>
    Interrupted,
}

/// <summary>One host's result of <see cref="ClusterRunner.InspectAsync{T}"/>: a value, or the error that stopped it.</summary>
public sealed record Inspection<T>(string Host, Lease? Lease, T? Value, string? Error);

/// <summary>Told as hosts are driven, so a front end can show progress; the engine never prints.</summary>
public interface IClusterProgress
{
    /// <summary>
    /// A pass over <paramref name="hosts"/> hosts begins; <paramref name="phase"/> says what it does to each
    /// ("reading", "applying"). <paramref name="detailed"/> is false for a pass that only prepares the next
    /// (reading hosts before planning): a per-host record of it would list every host twice.
    /// </summary>
    void Start(string phase, int hosts, bool detailed);

    /// <summary>Work on <paramref name="host"/> begins (it got one of the --parallel slots).</summary>
    void HostStarted(string host);

    /// <summary>Work on <paramref name="host"/> ended: <paramref name="result"/> is ok, changed, failed or interrupted.</summary>
    void HostDone(string host, string result);
}

/// <summary>One host's live state as read before planning, or why it could not be read.</summary>
public sealed record Observation(string Host, ObservedHost? State, string? Error)
{
    /// <summary>The states of the hosts that could be read, by name.</summary>
    public static IReadOnlyDictionary<string, ObservedHost> States(IReadOnlyDictionary<string, Observation> observed) =>
        observed.Values.Where(o => o.State is not null).ToDictionary(o => o.Host, o => o.State!, StringComparer.Ordinal);
}
