using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace OverlayCtl.Cli.Output;

/// <summary>
/// Prints a command's result on stdout in the chosen format. Commands hand over a typed result
/// plus how to draw it as a table; JSON shapes come from source-generated contracts (docs/output.md).
/// A write that fails (a full disk, a device error) is an <see cref="OutputWriteException"/>: the work is
/// done, only its report is lost, which is neither bad input nor a failed host (exit 74).
/// </summary>
internal sealed class OutputWriter(TextWriter stdout, OutputFormat format)
{
    public OutputFormat Format { get; } = format;

    public void Write<T>(T value, JsonTypeInfo<T> typeInfo, Func<T, string> human)
    {
        var text = Format switch
        {
            // Through a node so the readable encoder applies: "host's", not "host\u0027s".
            OutputFormat.Json => (JsonSerializer.SerializeToNode(value, typeInfo)?.ToJsonString(Readable) ?? "null") + "\n",
            OutputFormat.Yaml => YamlWriter.Write(JsonSerializer.SerializeToNode(value, typeInfo)),
            _ => human(value),
        };
        Put(text);
    }

    private static readonly JsonSerializerOptions Readable = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes a human line to stdout only in table formats, so JSON/YAML stay parseable.</summary>
    public void Note(string line)
    {
        if (Format is OutputFormat.Table or OutputFormat.Wide) Put(line + "\n");
    }

    private void Put(string text)
    {
        try
        {
            stdout.Write(text);
            stdout.Flush();
        }
        catch (IOException e)
        {
            throw new OutputWriteException(e.Message, e);
        }
    }
}

/// <summary>stdout could not be written: what the command did stands, its report did not reach anyone.</summary>
internal sealed class OutputWriteException(string message, Exception inner) : Exception(message, inner);
