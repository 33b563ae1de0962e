using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// Prints a command's result on stdout in the chosen format. Commands hand over a typed result
/// plus how to draw it as a table; JSON shapes come from source-generated contracts (docs/output.md).
/// </summary>
internal sealed class OutputWriter(TextWriter stdout, OutputFormat format)
{
    public OutputFormat Format { get; } = format;

    public void Write<T>(T value, JsonTypeInfo<T> typeInfo, Func<T, string> human)
    {
        switch (Format)
        {
            case OutputFormat.Json:
                // Through a node so the readable encoder applies: "host's", not "host\u0027s".
                stdout.Write(JsonSerializer.SerializeToNode(value, typeInfo)?.ToJsonString(Readable) ?? "null");
                stdout.Write('\n');
                break;
            case OutputFormat.Yaml:
                stdout.Write(YamlWriter.Write(JsonSerializer.SerializeToNode(value, typeInfo)));
                break;
            default:
                stdout.Write(human(value));
                break;
        }
    }

    private static readonly JsonSerializerOptions Readable = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes a human line to stdout only in table formats, so JSON/YAML stay parseable.</summary>
    public void Note(string line)
    {
        if (Format is OutputFormat.Table or OutputFormat.Wide) stdout.WriteLine(line);
    }
}
