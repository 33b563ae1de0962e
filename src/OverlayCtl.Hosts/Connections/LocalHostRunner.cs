using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>Runs commands on this machine. Also the base for namespace hosts, which share its filesystem.</summary>
public class LocalHostRunner(string hostName, ProcessRunner processes) : IHostRunner
{
    public string HostName { get; } = hostName;

    protected ProcessRunner Processes { get; } = processes;

    public virtual Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) =>
        Processes.RunAsync(HostName, command, cancellationToken);

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => HostFiles.ReadAsync(this, path, cancellationToken);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) =>
        HostFiles.WriteAsync(this, path, content, backup, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => HostFiles.DeleteAsync(this, path, cancellationToken);
}
