using System.CommandLine;
using OverlayCtl.Cli.Commands;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli;

/// <summary>
/// The command tree and the one place where failures become exit codes and human messages:
/// no stack trace reaches an operator for a problem they can fix.
/// </summary>
internal static class CommandLine
{
    public static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("overlayctl: one flat overlay network for container hosts, with leases in etcd");
        foreach (var option in GlobalOptions.All) root.Options.Add(option);
        var commands = new CommandSet(stdout, stderr);
        foreach (var command in commands.All()) root.Subcommands.Add(command);
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(stdout, stderr);
        var parse = root.Parse(args);
        return await parse.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }).ConfigureAwait(false);
    }

    /// <summary>Wraps a command body: builds its context, maps known failures to exit codes.</summary>
    public static Func<ParseResult, CancellationToken, Task<int>> Action(
        TextWriter stdout, TextWriter stderr, Func<CliContext, CancellationToken, Task<int>> body) =>
        async (parse, cancellationToken) =>
        {
            using var context = new CliContext(parse, stdout, stderr);
            try
            {
                return await body(context, cancellationToken).ConfigureAwait(false);
            }
            catch (SpecException e)
            {
                foreach (var error in e.Errors) await stderr.WriteLineAsync(error.ToString()).ConfigureAwait(false);
                await stderr.WriteLineAsync($"{e.Errors.Count} problem(s) in the spec").ConfigureAwait(false);
                return ExitCodes.Error;
            }
            catch (StoreUnavailableException e)
            {
                context.Log.Error("etcd unavailable: {Message}", e.Message);
                return ExitCodes.StoreUnavailable;
            }
            catch (CommandFailedException e)
            {
                context.Log.Error("{Message}", e.Message);
                return ExitCodes.HostFailed;
            }
            catch (Exception e) when (e is LeaseException or UsageException or IOException or UnauthorizedAccessException)
            {
                context.Log.Error("{Message}", e.Message);
                return ExitCodes.Error;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                context.Log.Warning("interrupted");
                return 130;
            }
        };
}

/// <summary>A command was called in a way that cannot work; the message says how to call it.</summary>
internal sealed class UsageException(string message) : Exception(message);
