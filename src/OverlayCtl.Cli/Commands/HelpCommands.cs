using System.CommandLine;
using System.Reflection;
using OverlayCtl.Cli.Completion;
using OverlayCtl.Cli.Help;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// <c>help [TOPIC|COMMAND]</c>, <c>completion SHELL</c>, and the hidden commands behind them: <c>__complete</c>, which
/// the completion scripts call on every Tab, and <c>manpage</c>, which scripts/release.sh calls. None reads etcd or a host.
/// </summary>
internal static class HelpCommands
{
    public static Command Help(CommandSet commands, TextWriter stdout)
    {
        var topic = new Argument<string[]>("TOPIC") { Description = "a topic (" + string.Join(", ", HelpTopics.All.Select(t => t.Name)) + ") or a command", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("help", "reference pages (help spec, backends, environment, exit-codes, output) and each command's help") { topic };
        command.SetAction(commands.Action((context, _) =>
        {
            var words = context.Parse.GetValue(topic) ?? [];
            if (words.Length == 0)
            {
                stdout.Write(Index(Root(context)));
                return Task.FromResult(ExitCodes.Ok);
            }
            if (words.Length == 1 && HelpTopics.Find(words[0]) is { } found)
            {
                stdout.Write(HelpTopics.Text(found));
                return Task.FromResult(ExitCodes.Ok);
            }
            var root = Root(context);
            var target = root.Parse([.. words, "--help"]);
            if (target.Errors.Count > 0 || target.CommandResult.Command == root)
                throw new UsageException($"no help topic or command '{string.Join(' ', words)}' (fix: overlayctl help TOPIC, with TOPIC one of {string.Join(", ", HelpTopics.All.Select(t => t.Name))}, or overlayctl help COMMAND)");
            return Task.FromResult(target.Invoke(new InvocationConfiguration { Output = stdout, Error = context.Stderr }));
        }));
        return command;
    }

    /// <summary><c>overlayctl help</c>: the topics, then the commands, one line each.</summary>
    private static string Index(Command root)
    {
        var text = new System.Text.StringBuilder("Topics (overlayctl help TOPIC):\n");
        var width = Math.Max(HelpTopics.All.Max(t => t.Name.Length), CommandPath.All(root).Max(c => c.Path.Length)) + 2;
        foreach (var t in HelpTopics.All) text.Append("  ").Append(t.Name.PadRight(width)).Append(t.Summary).Append('\n');
        text.Append("\nCommands (overlayctl help COMMAND, or overlayctl COMMAND --help):\n");
        foreach (var (path, command) in CommandPath.All(root)) text.Append("  ").Append(path.PadRight(width)).Append(command.Description).Append('\n');
        return text.ToString();
    }

    public static Command Completion(CommandSet commands, TextWriter stdout)
    {
        var shell = new Argument<string>("SHELL") { Description = string.Join("|", CompletionScripts.Shells) };
        shell.CompletionSources.Add(_ => CompletionScripts.Shells);
        var command = new Command("completion", "print a shell completion script (bash, zsh, fish): commands, flags, files after -f, the spec's hosts after --limit and doctor") { shell };
        command.SetAction(commands.Action((context, _) =>
        {
            stdout.Write(CompletionScripts.For(context.Parse.GetRequiredValue(shell)));
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    /// <summary>
    /// <c>__complete -- WORDS</c>: one candidate per line for the last word. Host names come from the spec file alone
    /// (read and validated as every command reads it); a spec that cannot be read offers none, and nothing is printed on error.
    /// </summary>
    public static Command Complete(TextWriter stdout)
    {
        var words = new Argument<string[]>("WORDS") { Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("__complete") { words };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            var root = parse.RootCommandResult.Command;
            foreach (var candidate in Completer.Complete(root, parse.GetValue(words) ?? [], HostsOf)) stdout.WriteLine(candidate);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static IEnumerable<string> HostsOf(string? flag)
    {
        try
        {
            return SpecFile.Find(flag, Environment.GetEnvironmentVariable, File.Exists) is { } path ? SpecLoader.Load(path).Hosts.Select(h => h.Name).ToList() : [];
        }
        catch (SpecException)
        {
            return [];
        }
    }

    /// <summary><c>manpage</c>: overlayctl(1) in roff (<see cref="ManPage"/>).</summary>
    public static Command ManPageCommand(CommandSet commands, TextWriter stdout)
    {
        var command = new Command("manpage", "print overlayctl(1) in roff") { Hidden = true };
        command.SetAction(commands.Action((context, _) =>
        {
            stdout.Write(ManPage.Render(Root(context), Version));
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }

    /// <summary>What --version prints: the informational version without the commit suffix.</summary>
    public static string Version =>
        (typeof(HelpCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0").Split('+')[0];

    private static Command Root(CliContext context) => context.Parse.RootCommandResult.Command;
}
