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
        processes.RunAsync(HostName, Wrap([command.Program, .. command.Arguments], command.StandardInput) with { SecretInput = command.SecretInput, InputFile = command.InputFile }, cancellationToken);

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => HostFiles.ReadAsync(this, path, cancellationToken);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) =>
        HostFiles.WriteAsync(this, path, content, backup, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => HostFiles.DeleteAsync(this, path, cancellationToken);

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
}
