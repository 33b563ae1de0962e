using YamlDotNet.RepresentationModel;

namespace OverlayCtl.Core.Spec;

/// <summary>
/// One mapping of the spec as a backend reads it. Every typed read checks the value as the rest of the
/// spec is checked and records a located error (<c>file:line:column: message (fix: ...)</c>), returning the
/// fallback, so a backend validates its own keys without seeing YAML.
/// </summary>
public sealed class SpecSection
{
    private readonly SpecReader _reader;
    private readonly YamlNode _node;
    private readonly IReadOnlyDictionary<string, YamlNode> _values;

    internal SpecSection(SpecReader reader, YamlNode node, IReadOnlyDictionary<string, YamlNode> values)
    {
        _reader = reader;
        _node = node;
        _values = values;
    }

    public bool Has(string key) => _values.ContainsKey(key);

    public int Int(string key, int min, int max, int fallback) =>
        _values.TryGetValue(key, out var node) ? _reader.Int(node, key, min, max) ?? fallback : fallback;

    public bool Bool(string key, bool fallback) =>
        _values.TryGetValue(key, out var node) ? _reader.Bool(node, key) ?? fallback : fallback;

    /// <summary>A single value; null when absent or not a single value (an error then).</summary>
    public string? Scalar(string key, string what) =>
        _values.TryGetValue(key, out var node) ? _reader.Scalar(node, what) : null;

    /// <summary>A Linux interface name, safe on a command line.</summary>
    public string InterfaceName(string key, string label, string fallback) =>
        _values.TryGetValue(key, out var node) ? _reader.InterfaceName(node, label) ?? fallback : fallback;

    /// <summary>A nested mapping with only <paramref name="known"/> keys (unknown ones are errors with the nearest known key); null when absent or not a mapping.</summary>
    public SpecSection? Mapping(string key, string what, string[] known) =>
        _values.TryGetValue(key, out var node) && _reader.Mapping(node, what, known) is { } map
            ? new SpecSection(_reader, node, map.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal))
            : null;

    /// <summary>An error at the key's value, or at this mapping when the key is absent.</summary>
    public void Error(string key, string message, string fix) => _reader.Error(_values.GetValueOrDefault(key) ?? _node, message, fix);

    /// <summary>An error at the first of <paramref name="paths"/> (keys from this mapping down) the spec spells out, else at this mapping.</summary>
    public void ErrorAtFirst(string message, string fix, params string[][] paths) =>
        _reader.Error(paths.Select(p => SpecReader.Find(_node, p)).FirstOrDefault(n => n is not null) ?? _node, message, fix);
}

/// <summary>What a backend reads its settings from: the <c>network:</c> mapping, the whole spec (to point at another section), the resolved docker settings, and whether the spec selects it.</summary>
public sealed record BackendSpecContext(SpecSection Network, SpecSection Root, DockerSpec Docker, bool Selected);
