using System.CommandLine;
using System.Text;
using System.Text.RegularExpressions;

namespace OverlayCtl.Cli.Help;

/// <summary>
/// overlayctl(1) in roff, made from what <c>--help</c> and <c>help TOPIC</c> print: the command tree's descriptions and
/// options, <see cref="Examples"/>, and docs/environment.md and docs/exit-codes.md (<see cref="HelpTopics"/>). Nothing
/// is written twice, so the man page cannot drift from the help. The hidden <c>overlayctl manpage</c> prints it;
/// scripts/release.sh puts it in the .deb.
/// </summary>
internal static partial class ManPage
{
    public static string Render(Command root, string version)
    {
        var man = new StringBuilder();
        var summary = (root.Description ?? "").Replace("overlayctl: ", "", StringComparison.Ordinal);
        man.Append(".TH OVERLAYCTL 1 \"\" \"overlayctl ").Append(Escape(version)).Append("\" \"User Commands\"\n");
        man.Append(".SH NAME\noverlayctl \\- ").Append(Escape(summary)).Append('\n');
        man.Append(".SH SYNOPSIS\n.B overlayctl\n.I command\n[\\fIoptions\\fR]\n");
        man.Append(".SH DESCRIPTION\n").Append(Escape("overlayctl builds " + summary)).Append(".\n.PP\n")
            .Append(Escape("Without -f, a command reads the spec named by $OVERLAYCTL_SPEC, else ./cluster.yaml. "
                + "Data goes to standard output, logs to standard error. overlayctl help TOPIC prints a reference page: "
                + string.Join(", ", HelpTopics.All.Select(t => t.Name)) + ".")).Append('\n');
        man.Append(".SH COMMANDS\n");
        foreach (var (path, command) in CommandPath.All(root))
        {
            man.Append(".SS \"overlayctl ").Append(Escape(path)).Append(string.Concat(command.Arguments.Where(a => !a.Hidden).Select(a => " [" + a.Name + "]")))
                .Append("\"\n").Append(Escape(command.Description ?? "")).Append('\n');
            foreach (var argument in command.Arguments.Where(a => !a.Hidden))
                man.Append(".TP\n.I ").Append(Escape(argument.Name)).Append('\n').Append(Escape(argument.Description ?? "")).Append('\n');
            foreach (var option in command.Options.Where(o => !o.Hidden && !o.Recursive))
                Option(man, option);
            foreach (var example in Examples.For(path))
                Example(man, example);
        }
        man.Append(".SH GLOBAL OPTIONS\nAccepted by every command.\n");
        foreach (var option in root.Options.Where(o => !o.Hidden)) Option(man, option);
        man.Append(".SH EXAMPLES\n");
        foreach (var example in Examples.For("")) Example(man, example);
        man.Append(".SH ENVIRONMENT\n").Append(Markdown(Body(HelpTopics.Page("environment.md"))));
        man.Append(".SH EXIT STATUS\n").Append(Markdown(Body(HelpTopics.Page("exit-codes.md"))));
        man.Append(".SH FILES\n.TP\n.I ./cluster.yaml\nthe spec read when neither \\-f nor $OVERLAYCTL_SPEC names one\n")
            .Append(".TP\n.I /usr/share/doc/overlayctl/cluster.yaml\na commented template of every spec key (samples/cluster.yaml in the source)\n");
        man.Append(".SH SEE ALSO\n.BR etcdctl (1),\n.BR flanneld (8),\n.BR ip (8)\n");
        return man.ToString();
    }

    private static void Option(StringBuilder man, Option option)
    {
        var names = string.Join(", ", option.Aliases.Append(option.Name).OrderBy(n => n.Length).Select(n => "\\fB" + Escape(n) + "\\fR"));
        var value = option.Arity.MinimumNumberOfValues > 0 ? " \\fI" + Escape(option.HelpName ?? option.Name.TrimStart('-').ToUpperInvariant()) + "\\fR" : "";
        man.Append(".TP\n").Append(names).Append(value).Append('\n').Append(Escape(option.Description ?? "")).Append('\n');
    }

    private static void Example(StringBuilder man, Examples.Example example)
    {
        man.Append(".PP\n").Append(Escape(example.What)).Append(":\n.PP\n.RS 4\n.nf\n").Append(Escape(example.CommandLine)).Append('\n');
        if (example.Output is not null) man.Append(Escape(example.Output.TrimEnd('\n'))).Append('\n');
        man.Append(".fi\n.RE\n");
    }

    /// <summary>A page without its title line: the man page has its own section heading.</summary>
    private static string Body(string markdown) => markdown.StartsWith('#') ? markdown[(markdown.IndexOf('\n', StringComparison.Ordinal) + 1)..] : markdown;

    /// <summary>
    /// The little markdown the docs use, as roff: paragraphs, "##" subsections, code blocks, lists, and tables (a row
    /// becomes a tagged paragraph: its first cell the tag, the others its text). Inline code is bold.
    /// </summary>
    public static string Markdown(string markdown)
    {
        var man = new StringBuilder();
        var code = false;
        var header = false;
        foreach (var raw in markdown.Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                man.Append(code ? ".fi\n.RE\n" : ".PP\n.RS 4\n.nf\n");
                code = !code;
                continue;
            }
            if (code)
            {
                man.Append(Escape(line)).Append('\n');
                continue;
            }
            if (line.Length == 0) { header = false; man.Append(".PP\n"); continue; }
            if (line.StartsWith('#')) { man.Append(".SS \"").Append(Escape(line.TrimStart('#').Trim())).Append("\"\n"); continue; }
            if (line.StartsWith('|'))
            {
                var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToList();
                if (cells.All(c => c.Trim('-', ':').Length == 0)) continue;
                if (!header) { header = true; continue; } // the column names: the tags say what they are
                man.Append(".TP\n").Append(Inline(cells[0])).Append('\n').Append(string.Join(": ", cells.Skip(1).Select(Inline))).Append('\n');
                continue;
            }
            if (line.StartsWith("- ", StringComparison.Ordinal)) { man.Append(".IP \\(bu 2\n").Append(Inline(line[2..])).Append('\n'); continue; }
            man.Append(Inline(line.TrimStart())).Append('\n');
        }
        return man.ToString();
    }

    /// <summary>`code` bold, [text](link) as its text, the rest escaped.</summary>
    private static string Inline(string text)
    {
        text = Link().Replace(text, "$1");
        var parts = text.Split('`');
        var out_ = new StringBuilder();
        for (var i = 0; i < parts.Length; i++)
            out_.Append(i % 2 == 1 ? "\\fB" + Escape(parts[i], lineStart: false) + "\\fR" : Escape(parts[i], lineStart: i == 0));
        return out_.ToString();
    }

    /// <summary>
    /// Text as roff reads it literally: backslashes doubled, hyphens as minus signs (so options copy as typed), and a
    /// line starting with '.' or '\'' guarded (roff would take it for a request).
    /// </summary>
    public static string Escape(string text, bool lineStart = true)
    {
        var escaped = text.Replace("\\", "\\e", StringComparison.Ordinal).Replace("-", "\\-", StringComparison.Ordinal);
        // Non-ASCII (the ✗ of doctor's output, an arrow) as groff's Unicode escapes: roff input is ASCII.
        if (escaped.Any(c => c > 127))
            escaped = string.Concat(escaped.EnumerateRunes().Select(r => r.Value > 127 ? $"\\[u{r.Value:X4}]" : r.ToString()));
        escaped = escaped.Replace("\n.", "\n\\&.", StringComparison.Ordinal).Replace("\n'", "\n\\&'", StringComparison.Ordinal);
        return lineStart && (escaped.StartsWith('.') || escaped.StartsWith('\'')) ? "\\&" + escaped : escaped;
    }

    [GeneratedRegex(@"\[([^\]]+)\]\([^)]+\)")]
    private static partial Regex Link();
}
