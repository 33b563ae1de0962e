using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// A remote host through the system ssh client (BatchMode: never prompts). The remote command is one
/// string built by <see cref="PosixShell.Quote"/>, the only quoting in overlayctl. With
/// <see cref="SshConnections"/> every command of the run shares one connection to the host (<see cref="SshConnection"/>).
/// </summary>
public sealed class SshHostRunner : IHostRunner, IRoundTripHost
{
    private readonly HostConnection.Ssh _target;
    private readonly ProcessRunner _processes;
    private readonly IReadOnlyList<string> _options;
    private readonly SshConnection? _connection;

    public SshHostRunner(string hostName, HostConnection.Ssh target, ProcessRunner processes, IReadOnlyList<string>? extraOptions = null, SshConnections? connections = null)
    {
        HostName = hostName;
        _target = target;
        _processes = processes;
        _connection = connections?.For(Destination, target.Port);
        _options = [.. extraOptions ?? [], .. _connection?.Options ?? []];
    }

    public string HostName { get; }

    private string Destination => _target.User is null ? _target.Host : $"{_target.User}@{_target.Host}";

    public Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken)
    {
        var wrapped = Wrap([command.Program, .. command.Arguments], command.StandardInput) with { SecretInput = command.SecretInput, InputFile = command.InputFile };
        return _connection is null
            ? _processes.RunAsync(HostName, wrapped, cancellationToken)
            : _connection.UseAsync(() => _processes.RunAsync(HostName, wrapped, cancellationToken), cancellationToken);
    }

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => HostFiles.ReadAsync(this, path, cancellationToken);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) =>
        HostFiles.WriteAsync(this, path, content, backup, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => HostFiles.DeleteAsync(this, path, cancellationToken);

    /// <summary>The ssh argument vector for a remote argv: exposed so tests can pin the quoting.</summary>
    public CommandSpec Wrap(IReadOnlyList<string> argv, string? stdin)
    {
        var args = new List<string> { "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", _target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (_target.IdentityFile is not null) args.AddRange(["-i", _target.IdentityFile]);
        args.AddRange(_options);
        args.Add(Destination);
        args.Add("--");
        args.Add(_target.Sudo ? SudoPrefix + PosixShell.Quote(argv) : PosixShell.Quote(argv));
        return new CommandSpec("ssh", args, stdin);
    }

    /// <summary>
    /// <c>?sudo=true</c>: the argument list runs as root through <c>sudo -n --</c> (never a password prompt: BatchMode
    /// could not answer it). sudo clears the environment, so the session's <c>SSH_CLIENT</c>, which the preflight reads
    /// to keep the operator's own connection out of the overlay, is handed on by <c>env</c>: the one expansion the
    /// remote shell makes, fixed text naming no value of ours.
    /// </summary>
    private const string SudoPrefix = "'sudo' '-n' '--' 'env' \"SSH_CLIENT=$SSH_CLIENT\" ";
}
