using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// Renders the JSON document of a result as YAML through YamlDotNet's emitter, so <c>-o yaml</c> and
/// <c>-o json</c> always carry the same shape (one documented model, two spellings). The emitter, not
/// reflection, writes it: NativeAOT and trimming keep working. YAML syntax (a leading <c>-</c>, <c>: </c>,
/// <c>#</c>) is the emitter's to escape; which strings a reader would take for another type is decided
/// here, against YAML 1.1 (PyYAML, hence Ansible) and YAML 1.2's core schema both.
/// </summary>
internal static partial class YamlWriter
{
    public static string Write(JsonNode? node)
    {
        using var text = new StringWriter { NewLine = "\n" };
        // No folding: a long command stays one line, as in -o json.
        var emitter = new Emitter(text, 2, int.MaxValue, false);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        Emit(emitter, node);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Emit(IEmitter emitter, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                emitter.Emit(new MappingStart(null, null, true, obj.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in obj)
                {
                    String(emitter, key);
                    Emit(emitter, value);
                }
                emitter.Emit(new MappingEnd());
                break;
            case JsonArray array:
                emitter.Emit(new SequenceStart(null, null, true, array.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in array) Emit(emitter, item);
                emitter.Emit(new SequenceEnd());
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                String(emitter, v.GetValue<string>());
                break;
            case JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                Plain(emitter, v.GetValue<bool>() ? "true" : "false");
                break;
            case null:
                Plain(emitter, "null");
                break;
            default:
                Plain(emitter, node.ToJsonString());
                break;
        }
    }

    private static void Plain(IEmitter emitter, string value) =>
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, ScalarStyle.Plain, true, false));

    /// <summary>
    /// A string as a string: plain where every reader reads it back as that string, double-quoted
    /// (control characters escaped, one line) where some reader would not.
    /// </summary>
    private static void String(IEmitter emitter, string value) =>
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value,
            NeedsQuotes(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Plain, true, true));

    /// <summary>
    /// True for a string a YAML reader would resolve to something else when written plain: null, a
    /// boolean (1.1's yes/no/on/off/y/n too), an integer or float (1.1's octal <c>0777</c>, binary,
    /// <c>1_000</c> and sexagesimal <c>52:54:00:12:34:56</c>, a MAC read as 190:...; 1.2's <c>0o17</c>),
    /// a timestamp, the merge key <c>&lt;&lt;</c> or the value key <c>=</c>; and for one the emitter would
    /// break over lines or write empty.
    /// </summary>
    internal static bool NeedsQuotes(string value) =>
        value.Length == 0 || value.Any(char.IsControl) || Special().IsMatch(value);

    // PyYAML's implicit resolvers (resolver.py: bool, float, int, merge, null, timestamp, value) with
    // YAML 1.1's y/n booleans and YAML 1.2 core's numbers added.
    [GeneratedRegex("""
        ^(?:
            y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
          | ~|null|Null|NULL
          | <<|=
          | [-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
          | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
          | [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)? | [-+]?[0-9][0-9_]*(?:[eE][-+]?[0-9]+)
          | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
          | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[\ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[\ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?
        )$
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Special();
}
