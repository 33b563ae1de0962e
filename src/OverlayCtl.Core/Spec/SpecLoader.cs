using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OverlayCtl.Core.Spec;

/// <summary>
/// Reads a cluster spec and checks all of it, collecting every problem with its file, line and
/// column and the fix, so an operator corrects a spec in one pass instead of one error per run.
/// </summary>
public static class SpecLoader
{
    public const string ApiVersion = "overlayctl/v1";

    public static ClusterSpec Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecException([new SpecError(path, 0, 0, $"cannot read the spec: {e.Message}", "pass the path of a readable YAML file with -f")]);
        }
        return Parse(text, path);
    }

    public static ClusterSpec Parse(string yamlText, string fileName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yamlText));
        }
        catch (YamlException e)
        {
            var message = e.InnerException?.Message ?? e.Message;
            throw new SpecException([new SpecError(fileName, (int)e.Start.Line, (int)e.Start.Column, $"not valid YAML: {StripLocation(message)}", "check indentation and quoting around this point")]);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner gives up without a position on some unterminated flow collections.
            throw new SpecException([new SpecError(fileName, 1, 1, "not valid YAML: an unterminated [list] or {mapping}", "close every '[' and '{', or use block style ('- item' lines)")]);
        }
        if (stream.Documents.Count == 0)
            throw new SpecException([new SpecError(fileName, 1, 1, "the spec is empty", "start from samples/cluster.yaml")]);
        var reader = new SpecReader(fileName);
        var spec = reader.Read(stream.Documents[0].RootNode);
        if (reader.Errors.Count > 0 || spec is null) throw new SpecException([.. reader.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column)]);
        return spec;
    }

    private static string StripLocation(string message)
    {
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && close > 0 ? message[(close + 3)..] : message;
    }
}
