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

    /// <summary>The file's content, or null when it does not exist; <see cref="HostFileException"/> when it is not a regular file.</summary>
    Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the file atomically (temp file + rename), through a symbolic link, keeping an existing file's mode
    /// and owner, creating parent directories; before the first write, keeps the original as
    /// <paramref name="backup"/> when given and not there yet.
    /// </summary>
    Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken);

    Task DeleteFileAsync(string path, CancellationToken cancellationToken);
}

/// <summary>A host's file that overlayctl refuses to read or could not write; the message names the host, the path, the cause and the fix.</summary>
public sealed class HostFileException(string message) : Exception(message);
