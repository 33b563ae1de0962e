using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>Runs commands on this machine. Also the base for namespace hosts, which share its filesystem.</summary>
public class LocalHostRunner(string hostName, ProcessRunner processes) : IHostRunner
{
    public string HostName { get; } = hostName;

    protected ProcessRunner Processes { get; } = processes;

    public virtual Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) =>
        Processes.RunAsync(HostName, command, cancellationToken);

    public async Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async Task WriteFileAsync(string path, string content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path) ?? "/";
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.overlayctl-{Environment.ProcessId}.tmp");
        await File.WriteAllTextAsync(temp, content, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }
}
