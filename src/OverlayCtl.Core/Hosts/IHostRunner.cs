namespace OverlayCtl.Core.Hosts;

/// <summary>
/// Runs commands on one host and reads/writes the few files overlayctl owns there. One
/// implementation per connection kind (local, ssh, netns); the planner never sees which.
/// </summary>
public interface IHostRunner
{
    string HostName { get; }

    /// <summary>Runs the command; a non-zero exit is returned, not thrown.</summary>
    Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken);

    /// <summary>The file's content, or null when it does not exist.</summary>
    Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>Replaces the file atomically (temp file + rename), creating parent directories.</summary>
    Task WriteFileAsync(string path, string content, CancellationToken cancellationToken);

    Task DeleteFileAsync(string path, CancellationToken cancellationToken);
}
