using System.CommandLine;
using OverlayCtl.Cli.Commands;

namespace OverlayCtl.Cli;

/// <summary>
/// The command tree, and the one wrapper every command runs in: whatever fails, inside a command or
/// while parsing, ends in <see cref="Failures"/>, so no stack trace reaches an operator for a problem they can fix.
/// </summary>
internal static class CommandLine
{
    public static RootCommand Build(TextWriter stdout, TextWriter stderr, Terminal? terminal = null)
    {
        var root = new RootCommand("overlayctl: one flat overlay network for container hosts, with leases in etcd");
        foreach (var option in GlobalOptions.All) root.Options.Add(option);
        var commands = new CommandSet(stdout, stderr, terminal ?? Terminal.None);
        foreach (var command in commands.All()) root.Subcommands.Add(command);
        Help.ExamplesHelpAction.Install(root);
        return root;
    }

    /// <summary>Runs one invocation; <paramref name="terminal"/> is where to ask for confirmation (none, the default, when run in-process).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Terminal? terminal = null)
    {
        var root = Build(stdout, stderr, terminal);
        // No response files: "@FILE" is --limit's (a file of host patterns, as ansible's retry files), never arguments to splice in.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        // A bare "overlayctl" still gets the parser's help; anything mistyped gets one line (UsageErrors).
        if (args.Length > 0 && parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
            return UsageErrors.Report(parse, stderr);
        try
        {
            // Failures inside a command are mapped by Action; this catches the rest (a parser, help)
            // so that System.CommandLine's own handler never prints a stack trace.
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                // After Ctrl-C, time for the hosts' commands to stop and the recap (who was interrupted) to be printed.
                ProcessTerminationTimeout = TimeSpan.FromSeconds(10),
            }).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            return Failures.Report(e, interrupted: false, parse.GetValue(GlobalOptions.Verbose), stderr, fileLog: null);
        }
    }

    /// <summary>
    /// Wraps a command body: builds its context (which can fail too: a log file that cannot be
    /// created) and hands every failure to <see cref="Failures"/>.
    /// </summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action(
        TextWriter stdout, TextWriter stderr, Terminal terminal, Func<CliContext, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            CliContext? context = null;
            try
            {
                context = new CliContext(parse, stdout, stderr, terminal);
                return await body(context, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // The message gets a line of its own, not the end of the live progress line.
                context?.Progress.End();
                return Failures.Report(e, cancellationToken.IsCancellationRequested, parse.GetValue(GlobalOptions.Verbose), stderr, context?.FileLog);
            }
            finally
            {
                context?.Dispose();
            }
        };
}

/// <summary>A command was called in a way that cannot work; the message says how to call it.</summary>
internal sealed class UsageException(string message) : Exception(message);
