namespace OverlayCtl.Core.Spec;

/// <summary>
/// A problem in a spec, located so an operator can jump to it: <c>cluster.yaml:12:7: message (fix)</c>.
/// A problem with the file as a whole (missing, a directory, too large) has no location
/// (<see cref="Line"/> 0) and reads <c>cluster.yaml: message (fix)</c>, never a made-up 0:0 or 1:1.
/// </summary>
public sealed record SpecError(string File, int Line, int Column, string Message, string? Fix = null)
{
    /// <summary>A problem with the file as a whole, not with a place in it.</summary>
    public static SpecError ForFile(string file, string message, string fix) => new(file, 0, 0, message, fix);

    public override string ToString() =>
        $"{File}{(Line == 0 ? "" : $":{Line}:{Column}")}: {Message}{(Fix is null ? "" : $" (fix: {Fix})")}";
}

/// <summary>Thrown when a spec cannot be used; carries every problem found, not just the first.</summary>
public sealed class SpecException(IReadOnlyList<SpecError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;
}
