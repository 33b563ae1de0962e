using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Observe.Netlink;

namespace OverlayCtl.Hosts.Connections;

/// <summary>A host reached by running processes on this machine: this machine itself, or one of its network namespaces.</summary>
public abstract class MachineHostRunner(string hostName, ProcessRunner processes) : IHostRunner
{
    public string HostName { get; } = hostName;

    protected ProcessRunner Processes { get; } = processes;

    public virtual Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) =>
        Processes.RunAsync(HostName, command, cancellationToken);

    public virtual Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => HostFiles.ReadAsync(this, path, cancellationToken);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) =>
        HostFiles.WriteAsync(this, path, content, backup, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => HostFiles.DeleteAsync(this, path, cancellationToken);
}

/// <summary>
/// The host this process runs on, in its own namespaces (apply on a <c>local</c> host, and every agent): what
/// can be read without a process is read in-process (<see cref="IHereHost"/>), so an agent's observation
/// costs no process for its files, environment or sysctls.
/// </summary>
public sealed class LocalHostRunner(string hostName, ProcessRunner processes) : MachineHostRunner(hostName, processes), IHereHost
{
    public override Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => HostFiles.ReadHereAsync(HostName, path, cancellationToken);

    public string? Environment(string name) => System.Environment.GetEnvironmentVariable(name);

    public string Sysctl(string key) => File.ReadAllText("/proc/sys/" + key.Replace('.', '/')).Trim();

    private readonly Lazy<HostKernel> _kernel = new(() => HostKernel.Open(null));

    /// <summary>Opened on first use and kept for the runner's life (an agent's: one socket, reused on every wake-up).</summary>
    public HostKernel Kernel => _kernel.Value;
}

/// <summary>
/// A host that is this process's own machine and namespaces: its environment, files, <c>/proc/sys</c> and kernel are
/// this process's, read directly instead of by a process (<c>printenv</c>, <c>sh</c>, <c>sysctl</c>, <c>ip</c>).
/// </summary>
public interface IHereHost
{
    /// <summary>The variable in this process's environment, what <c>printenv</c> on the host would print.</summary>
    string? Environment(string name);

    /// <summary>A sysctl's value (<c>net.ipv4.ip_forward</c>), as <c>sysctl -n</c> prints it.</summary>
    string Sysctl(string key);

    /// <summary>Its links, addresses, routes, neighbours and fdb, read and (for a peer's entries) written over rtnetlink instead of by <c>ip</c> and <c>bridge</c>.</summary>
    HostKernel Kernel { get; }
}
