using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace OverlayCtl.Cli.Help;

/// <summary>
/// <c>--help</c> as System.CommandLine prints it, followed by the command's <see cref="Examples"/>: the usage says
/// what is accepted, the examples how it is meant to be used.
/// </summary>
internal sealed class ExamplesHelpAction(HelpAction standard) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        var code = standard.Invoke(parseResult);
        var output = parseResult.InvocationConfiguration.Output;
        output.Write(Render(Examples.For(CommandPath.Of(parseResult.CommandResult.Command))));
        return code;
    }

    /// <summary>The "Examples:" section, indented as the sections above it; empty when the command has none.</summary>
    public static string Render(IReadOnlyList<Examples.Example> examples)
    {
        if (examples.Count == 0) return "";
        var text = new System.Text.StringBuilder("Examples:\n");
        foreach (var e in examples)
        {
            text.Append("  # ").Append(e.What).Append('\n').Append("  ").Append(e.CommandLine).Append('\n');
            if (e.Output is not null)
                foreach (var line in e.Output.TrimEnd('\n').Split('\n'))
                    text.Append("    ").Append(line).Append('\n');
        }
        return text.Append('\n').ToString();
    }

    /// <summary>Puts this action on the root's help option (it is recursive: one action serves every command).</summary>
    public static void Install(RootCommand root)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new ExamplesHelpAction((HelpAction)help.Action!);
    }
}

/// <summary>A command's path below the root, as examples and the man page name it: "" for the root, "leases list".</summary>
internal static class CommandPath
{
    public static string Of(Command command)
    {
        var names = new List<string>();
        for (var c = command; c is not null && c is not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, c.Name);
        return string.Join(' ', names);
    }

    /// <summary>Every visible command under <paramref name="root"/>, depth first, with its path.</summary>
    public static IEnumerable<(string Path, Command Command)> All(Command root, string prefix = "")
    {
        foreach (var sub in root.Subcommands.Where(c => !c.Hidden))
        {
            var path = prefix.Length == 0 ? sub.Name : prefix + " " + sub.Name;
            yield return (path, sub);
            foreach (var below in All(sub, path)) yield return below;
        }
    }
}
