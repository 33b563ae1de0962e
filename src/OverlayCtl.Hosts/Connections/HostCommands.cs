using System.Globalization;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>What every reader and writer of a host shares: a command that must succeed, and a path that may reach one.</summary>
internal static class HostCommands
{
    /// <summary>The command's standard output; a failure is a <see cref="CommandFailedException"/> naming the host, the command and its stderr.</summary>
    public static async Task<string> MustAsync(this IHostRunner runner, CommandSpec command, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result.StandardOutput : throw new CommandFailedException(runner.HostName, command, result);
    }

    /// <summary>Paths come from the spec (absolute, no control characters) or from validated names under an absolute root; anything else here is a bug, not input.</summary>
    public static string CheckedPath(string path) =>
        path.StartsWith('/') && !path.Any(char.IsControl) ? path
        : throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"'{path}' is not an absolute path"), nameof(path));
}
