namespace OverlayCtl.Core.Spec;

/// <summary>
/// Where the values that later checks judge were written (<c>network.cidr</c>, <c>hosts.n2.address</c>),
/// so a problem found only against etcd or a live host still points at the line to fix, as the spec's
/// own errors do.
/// </summary>
public sealed class SpecLocations(string file, IReadOnlyDictionary<string, (int Line, int Column)> places)
{
    public static SpecLocations None { get; } = new("", new Dictionary<string, (int, int)>());

    public static string Network(string key) => "network." + key;

    public static string Host(string host, string key) => $"hosts.{host}.{key}";

    /// <summary>A located error about the value at <paramref name="key"/>; unlocated (file only) when the spec did not write it.</summary>
    public SpecError Error(string key, string message, string fix) => places.TryGetValue(key, out var at)
        ? new SpecError(file, at.Line, at.Column, message, fix)
        : SpecError.ForFile(file, message, fix);
}
