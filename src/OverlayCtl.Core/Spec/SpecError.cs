namespace OverlayCtl.Core.Spec;

/// <summary>
/// A problem in a spec, located so an operator can jump to it: <c>cluster.yaml:12:7: message (fix)</c>.
/// </summary>
public sealed record SpecError(string File, int Line, int Column, string Message, string? Fix = null)
{
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {Message}{(Fix is null ? "" : $" (fix: {Fix})")}";
}

/// <summary>Thrown when a spec cannot be used; carries every problem found, not just the first.</summary>
public sealed class SpecException(IReadOnlyList<SpecError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;
}
