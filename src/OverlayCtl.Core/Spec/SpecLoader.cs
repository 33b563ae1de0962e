using OverlayCtl.Core.Files;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace OverlayCtl.Core.Spec;

/// <summary>
/// Reads a cluster spec and checks all of it, collecting every problem with its file, line and
/// column and the fix, so an operator corrects a spec in one pass instead of one error per run.
/// </summary>
public static class SpecLoader
{
    public const string ApiVersion = "overlayctl/v1";

    /// <summary>
    /// The deepest nesting of lists and mappings accepted. A spec needs four; YamlDotNet builds its tree
    /// recursively, so 100,000 nested '[' would overflow the stack (a crash no handler can catch).
    /// </summary>
    public const int MaxDepth = 32;

    private const string FileFix = "pass the path of the cluster spec, a YAML file, with -f";

    public static ClusterSpec Load(string path)
    {
        if (!RegularFile.TryReadText(path, out var text, out var problem))
            throw new SpecException([SpecError.ForFile(path.Length == 0 ? "''" : path, problem, FileFix)]);
        return Parse(text, path);
    }

    public static ClusterSpec Parse(string yamlText, string fileName)
    {
        if (Screen(yamlText, fileName) is { } refused) throw new SpecException([refused]);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yamlText));
        }
        catch (YamlException e)
        {
            throw new SpecException([NotYaml(e, fileName)]);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet's tree builder fails without a position on a few event sequences the screen let through.
            throw new SpecException([SpecError.ForFile(fileName, $"not valid YAML: {e.Message}", "check indentation and quoting; validate the file with a YAML linter")]);
        }
        if (stream.Documents.Count == 0)
            throw new SpecException([SpecError.ForFile(fileName, "the spec is empty", "start from samples/cluster.yaml, a template of every key (installed: /usr/share/doc/overlayctl/cluster.yaml); overlayctl help spec describes them")]);
        var reader = new SpecReader(fileName);
        var spec = reader.Read(stream.Documents[0].RootNode);
        if (reader.Errors.Count > 0 || spec is null) throw new SpecException([.. reader.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column)]);
        return spec with { Digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(yamlText))) };
    }

    /// <summary>
    /// Walks YamlDotNet's event stream (flat, no recursion) before any tree is built, and refuses what
    /// the tree builder cannot survive or a spec never needs: nesting deeper than <see cref="MaxDepth"/>,
    /// a key that is not a plain value (a cyclic alias as a key recurses forever when hashed), and a
    /// second document (a spec is one document; silently reading only the first would hide the rest).
    /// </summary>
    private static SpecError? Screen(string yamlText, string fileName)
    {
        var parser = new Parser(new StringReader(yamlText));
        // Per open collection: is it a mapping, is its next node a key, and where does it start if it is a [flow] one?
        var open = new Stack<(bool Mapping, bool KeyNext, Mark? FlowStart)>();
        var documents = 0;
        try
        {
            while (parser.MoveNext())
            {
                var current = parser.Current!;
                if (current is DocumentStart && ++documents > 1)
                    return Located(fileName, current.Start, "a second YAML document starts here; a spec is one document", "remove this '---' and what follows, or put each cluster in a file of its own");
                if (current is SequenceEnd or MappingEnd)
                {
                    open.Pop();
                    continue;
                }
                if (current is not (Scalar or AnchorAlias or SequenceStart or MappingStart)) continue;
                if (open.TryPop(out var parent))
                {
                    if (parent.Mapping && parent.KeyNext && current is not Scalar)
                        return Located(fileName, current.Start, "a key here is a list, a mapping or an alias; spec keys are plain names", "write a plain key such as 'hosts:'");
                    open.Push(parent with { KeyNext = parent.Mapping && !parent.KeyNext });
                }
                if (current is SequenceStart or MappingStart)
                {
                    if (open.Count == MaxDepth)
                        return Located(fileName, current.Start, $"lists and mappings are nested more than {MaxDepth} deep here", "a spec nests four levels at most; check the brackets and indentation");
                    var flow = current is SequenceStart { Style: SequenceStyle.Flow } or MappingStart { Style: MappingStyle.Flow };
                    open.Push((current is MappingStart, true, flow ? current.Start : null));
                }
            }
        }
        catch (YamlException e)
        {
            return NotYaml(e, fileName);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner gives up without a position on some unterminated flow collections:
            // point at the outermost one still open.
            const string Fix = "close every '[' and '{', or use block style ('- item' lines)";
            return open.LastOrDefault(c => c.FlowStart is not null).FlowStart is { } start
                ? Located(fileName, start, "not valid YAML: this [list] or {mapping} is never closed", Fix)
                : SpecError.ForFile(fileName, "not valid YAML: an unterminated [list] or {mapping}", Fix);
        }
        return null;
    }

    private static SpecError Located(string fileName, Mark mark, string message, string fix) =>
        new(fileName, ToInt(mark.Line), ToInt(mark.Column), message, fix);

    private static SpecError NotYaml(YamlException e, string fileName)
    {
        var message = e.InnerException?.Message ?? e.Message;
        return Located(fileName, e.Start, $"not valid YAML: {StripLocation(message)}", "check indentation and quoting around this point");
    }

    private static int ToInt(long value) => (int)Math.Min(value, int.MaxValue);

    private static string StripLocation(string message)
    {
        var close = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && close > 0 ? message[(close + 3)..] : message;
    }
}
