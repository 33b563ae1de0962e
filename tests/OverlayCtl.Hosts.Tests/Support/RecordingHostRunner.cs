using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Tests.Support;

/// <summary>A hand-written host: answers commands from a script, records what ran and what was written.</summary>
internal sealed class RecordingHostRunner(string hostName = "test") : IHostRunner
{
    public List<CommandSpec> Ran { get; } = [];
    public Dictionary<string, string> Files { get; } = [];
    public Func<CommandSpec, CommandResult> Answer { get; set; } = _ => new CommandResult(0, "", "");

    public string HostName { get; } = hostName;

    public Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken)
    {
        lock (Ran) Ran.Add(command);
        return Task.FromResult(Answer(command));
    }

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) =>
        Task.FromResult(Files.TryGetValue(path, out var c) ? c : null);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken)
    {
        if (backup is not null && Files.TryGetValue(path, out var original)) Files.TryAdd(backup, original);
        Files[path] = content;
        return Task.CompletedTask;
    }

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken)
    {
        Files.Remove(path);
        return Task.CompletedTask;
    }
}
