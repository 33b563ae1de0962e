using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// A remote host through the system ssh client (BatchMode: never prompts). The remote command is one
/// string built by <see cref="PosixShell.Quote"/>, the only quoting in overlayctl.
/// </summary>
public sealed class SshHostRunner(string hostName, HostConnection.Ssh target, ProcessRunner processes, IReadOnlyList<string>? extraOptions = null) : IHostRunner
{
    public string HostName { get; } = hostName;

    public Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) =>
        processes.RunAsync(HostName, Wrap([command.Program, .. command.Arguments], command.StandardInput) with { SecretInput = command.SecretInput }, cancellationToken);

    public async Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        // Exit 3 means "absent", so a missing file is told apart from a failing connection (255).
        var result = await RunShellAsync(["sh", "-c", "if [ -e \"$1\" ]; then cat -- \"$1\"; else exit 3; fi", "sh", path], null, cancellationToken).ConfigureAwait(false);
        return result.ExitCode switch
        {
            0 => result.StandardOutput,
            3 => null,
            _ => throw new CommandFailedException(HostName, CommandSpec.Of("cat", path), result),
        };
    }

    public Task WriteFileAsync(string path, string content, CancellationToken cancellationToken) =>
        MustAsync(["sh", "-c", "d=$(dirname -- \"$1\") && mkdir -p -- \"$d\" && cat > \"$1.overlayctl.tmp\" && mv -f -- \"$1.overlayctl.tmp\" \"$1\"", "sh", path], content, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => MustAsync(["rm", "-f", "--", path], null, cancellationToken);

    /// <summary>The ssh argument vector for a remote argv: exposed so tests can pin the quoting.</summary>
    public CommandSpec Wrap(IReadOnlyList<string> argv, string? stdin)
    {
        var args = new List<string> { "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (target.IdentityFile is not null) args.AddRange(["-i", target.IdentityFile]);
        if (extraOptions is not null) args.AddRange(extraOptions);
        args.Add(target.User is null ? target.Host : $"{target.User}@{target.Host}");
        args.Add("--");
        args.Add(PosixShell.Quote(argv));
        return new CommandSpec("ssh", args, stdin);
    }

    private Task<CommandResult> RunShellAsync(IReadOnlyList<string> argv, string? stdin, CancellationToken cancellationToken) =>
        processes.RunAsync(HostName, Wrap(argv, stdin), cancellationToken);

    private async Task MustAsync(IReadOnlyList<string> argv, string? stdin, CancellationToken cancellationToken)
    {
        var result = await RunShellAsync(argv, stdin, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw new CommandFailedException(HostName, new CommandSpec(argv[0], argv.Skip(1).ToList()), result);
    }
}
