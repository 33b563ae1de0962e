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
/// <param name="TxChecksumOffload">Whether tx checksum offload is on for the overlay device; null when unknown.</param>
public sealed record HostFacts(IReadOnlyDictionary<string, int> RpFilter, bool? TxChecksumOffload)
{
    public static HostFacts None { get; } = new(new Dictionary<string, int>(), null);
}
