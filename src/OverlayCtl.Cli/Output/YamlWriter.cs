using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// Renders the JSON document of a result as YAML, so <c>-o yaml</c> and <c>-o json</c> always
/// carry the same shape (one documented model, two spellings).
/// </summary>
internal static class YamlWriter
{
    public static string Write(JsonNode? node)
    {
        var text = new StringBuilder();
        WriteNode(text, node, 0, inList: false);
        if (text.Length == 0 || text[^1] != '\n') text.Append('\n');
        return text.ToString();
    }

    private static void WriteNode(StringBuilder text, JsonNode? node, int indent, bool inList)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count > 0:
                var first = true;
                foreach (var (key, value) in obj)
                {
                    if (!(first && inList)) text.Append(' ', indent);
                    first = false;
                    text.Append(Scalar(key)).Append(':');
                    WriteChild(text, value, indent);
                }
                break;
            case JsonArray array when array.Count > 0:
                var firstItem = true;
                foreach (var item in array)
                {
                    if (!(firstItem && inList)) text.Append(' ', indent);
                    firstItem = false;
                    text.Append("- ");
                    if (item is JsonObject { Count: > 0 } or JsonArray { Count: > 0 }) WriteNode(text, item, indent + 2, inList: true);
                    else text.Append(ScalarOf(item)).Append('\n');
                }
                break;
            default:
                text.Append(ScalarOf(node)).Append('\n');
                break;
        }
    }

    private static void WriteChild(StringBuilder text, JsonNode? value, int indent)
    {
        if (value is JsonObject { Count: > 0 })
        {
            text.Append('\n');
            WriteNode(text, value, indent + 2, inList: false);
        }
        else if (value is JsonArray { Count: > 0 })
        {
            text.Append('\n');
            WriteNode(text, value, indent, inList: false);
        }
        else
        {
            text.Append(' ').Append(ScalarOf(value)).Append('\n');
        }
    }

    private static string ScalarOf(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Scalar(v.GetValue<string>()),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
        _ => node.ToJsonString(),
    };

    private static string Scalar(string s)
    {
        var plain = s.Length > 0
            && !char.IsWhiteSpace(s[0]) && !char.IsWhiteSpace(s[^1])
            && "-?:,[]{}#&*!|>'\"%@`".IndexOf(s[0], StringComparison.Ordinal) < 0
            && !s.Contains(": ", StringComparison.Ordinal) && !s.Contains(" #", StringComparison.Ordinal)
            && s.All(c => !char.IsControl(c))
            && s is not ("null" or "true" or "false" or "~" or "yes" or "no" or "on" or "off")
            && !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        return plain ? s : Quote(s);
    }

    /// <summary>A YAML double-quoted scalar: backslash, quote and control characters escaped, the rest as is.</summary>
    private static string Quote(string s)
    {
        var text = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\t': text.Append("\\t"); break;
                case '\r': text.Append("\\r"); break;
                default:
                    if (char.IsControl(c)) text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }
}
