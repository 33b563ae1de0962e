using System.Text.RegularExpressions;
using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>samples/cluster.yaml is the template the empty-spec error points at: it must be valid and name every key docs/spec.md documents.</summary>
public sealed partial class SamplesTests
{
    private static readonly string Template = Path.Combine(Golden.RepoRoot(), "samples", "cluster.yaml");

    [Fact]
    public async Task TheTemplateIsAValidSpec()
    {
        var run = await CliRun.RunAsync("validate", "-f", Template);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public void TheTemplateNamesEveryKeyTheSpecReferenceDocuments()
    {
        var documented = KeysIn(ReferenceBlock(File.ReadAllText(Path.Combine(Golden.RepoRoot(), "docs", "spec.md"))));
        Assert.True(documented.Count > 30, $"only {documented.Count} keys found in docs/spec.md's reference block");
        var template = KeysIn(File.ReadAllText(Template));
        Assert.Empty(documented.Except(template));
    }

    [Fact]
    public async Task AnEmptySpecPointsAtTheTemplate()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.Combine("empty.yaml"), "");
        var run = await CliRun.RunAsync("validate", "-f", dir.Combine("empty.yaml"));
        Assert.Equal(ExitCodes.Error, run.ExitCode);
        Assert.Contains("samples/cluster.yaml", run.Stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Template));
    }

    /// <summary>The first ```yaml block of docs/spec.md: the reference of every key.</summary>
    private static string ReferenceBlock(string markdown)
    {
        var start = markdown.IndexOf("```yaml\n", StringComparison.Ordinal) + 8;
        return markdown[start..markdown.IndexOf("```", start, StringComparison.Ordinal)];
    }

    /// <summary>Every "key:" at the start of a line (after indentation or a list dash; a commented-out key counts), with its parents' path.</summary>
    private static HashSet<string> KeysIn(string yaml)
    {
        var keys = new HashSet<string>();
        var path = new List<(int Indent, string Key)>();
        foreach (var line in yaml.Split('\n'))
        {
            var m = KeyLine().Match(CommentMark().Replace(line, "$1", 1));
            if (!m.Success) continue;
            var indent = m.Groups["indent"].Length;
            path.RemoveAll(p => p.Indent >= indent);
            var key = m.Groups["key"].Value;
            keys.Add(string.Join('.', path.Select(p => p.Key).Append(key)));
            path.Add((indent, key));
            foreach (Match inline in InlineKey().Matches(m.Groups["rest"].Value))
                keys.Add(string.Join('.', path.Select(p => p.Key).Append(inline.Groups[1].Value)));
        }
        return keys;
    }

    [GeneratedRegex(@"^(?<indent>[ -]*)(?<key>[A-Za-z][A-Za-z0-9]*):(?<rest>.*)$")]
    private static partial Regex KeyLine();

    /// <summary>"  # key:" reads as "  key:": a commented-out key sits where it would be.</summary>
    [GeneratedRegex(@"^( *)# ?")]
    private static partial Regex CommentMark();

    /// <summary>Keys inside a flow mapping on the same line: tls: { ca: ..., cert: ... }.</summary>
    [GeneratedRegex(@"[{,]\s*([A-Za-z][A-Za-z0-9]*):")]
    private static partial Regex InlineKey();
}
