using OverlayCtl.Core.Planning;

namespace OverlayCtl.Core.Diagnostics;

/// <summary>How bad a finding is: errors break traffic, warnings are risks worth fixing.</summary>
public enum Severity
{
    Warning,
    Error,
}

/// <summary>
/// One problem doctor found: which check, on which host, what it saw (one line) and the fix
/// (one line, a command where there is one).
/// </summary>
public sealed record Finding(string Check, string Host, Severity Severity, string Problem, string Fix);

/// <summary>Facts doctor reads beyond the planner's observed state.</summary>
/// <param name="RpFilter">rp_filter by scope ("all", "default", or a device name).</param>
public sealed record HostFacts(IReadOnlyDictionary<string, int> RpFilter)
{
    public static HostFacts None { get; } = new(new Dictionary<string, int>());

    /// <summary>When the host was read, by overlayctl's clock, for ages such as a WireGuard peer's last handshake; null: ages are not judged.</summary>
    public DateTimeOffset? Now { get; init; }
}

/// <summary>One named check and what it looks for (docs/commands/status-verify-doctor.md lists them all).</summary>
public sealed record DoctorCheck(string Name, string Looks);

/// <summary>What a check looks at on one host: the plan input, doctor's extra facts, and the underlay when it was found.</summary>
public sealed record DoctorContext(PlanInput Input, HostFacts Facts, Underlay? Underlay)
{
    public Finding Finding(string check, Severity severity, string problem, string fix) => new(check, Input.Host.Name, severity, problem, fix);
}
