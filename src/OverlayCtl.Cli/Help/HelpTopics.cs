using System.Reflection;

namespace OverlayCtl.Cli.Help;

/// <summary>
/// <c>overlayctl help TOPIC</c>: the reference pages of docs/, compiled into the binary (EmbeddedResource in the
/// project file) so the text lives once, in docs/, and an operator on a host with only the binary still has it.
/// The man page takes its ENVIRONMENT and EXIT STATUS sections from the same pages.
/// </summary>
internal static class HelpTopics
{
    /// <summary>A topic: its name, one line saying what it covers, the page it comes from and, for a part of a page, its heading.</summary>
    public sealed record Topic(string Name, string Summary, string Resource, string? Section = null);

    public static readonly IReadOnlyList<Topic> All =
    [
        new("spec", "every key of the cluster spec, its default and its checks (docs/spec.md)", "spec.md"),
        new("backends", "vxlan, ovs, host-gw and wireguard: what each makes per host and per peer, MTU (docs/spec.md)", "spec.md", "## Backends"),
        new("environment", "the variables overlayctl reads, and flag > environment > spec (docs/environment.md)", "environment.md"),
        new("exit-codes", "what each exit code means, for scripts (docs/exit-codes.md)", "exit-codes.md"),
        new("output", "the JSON/YAML shapes scripts can rely on, logs and the audit file (docs/output.md)", "output.md"),
    ];

    public static Topic? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The topic's markdown: the whole page, or its section (the heading and what follows up to the next heading of the same level).</summary>
    public static string Text(Topic topic)
    {
        var page = Page(topic.Resource);
        if (topic.Section is null) return page;
        var start = page.IndexOf("\n" + topic.Section + "\n", StringComparison.Ordinal) + 1;
        if (start == 0) throw new InvalidOperationException($"docs/{topic.Resource} has no heading '{topic.Section}'");
        var level = topic.Section[..(topic.Section.IndexOf(' ', StringComparison.Ordinal) + 1)];
        var end = page.IndexOf("\n" + level, start + topic.Section.Length, StringComparison.Ordinal);
        return end < 0 ? page[start..] : page[start..(end + 1)];
    }

    /// <summary>A page of docs/ as compiled in.</summary>
    public static string Page(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("docs/" + name)
            ?? throw new InvalidOperationException($"docs/{name} is not compiled into overlayctl (EmbeddedResource in OverlayCtl.Cli.csproj)");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
