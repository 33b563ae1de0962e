using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;
using OverlayCtl.Hosts.Connections;

namespace OverlayCtl.Hosts.Lab;

/// <summary>
/// One agent process per namespace lab host, for labs and CI where there is no systemd: started detached
/// with <c>start-stop-daemon</c> inside the host's namespace (<c>ip netns exec</c>), its pid and log in
/// <see cref="DirectoryFor"/>, stopped by pid with SIGTERM (the agent leaves the network as it is).
/// </summary>
public sealed class LabAgents(ProcessRunner processes)
{
    private const string Root = "lab";
    private const string Daemon = "start-stop-daemon";

    /// <summary>Where a lab's agents keep their pid files and logs.</summary>
    public static string DirectoryFor(ClusterSpec spec) => RunPaths.LabDirectory(spec.Name);

    public static string PidFile(ClusterSpec spec, HostSpec host) => Path.Combine(DirectoryFor(spec), host.Name + ".pid");

    public static string LogFile(ClusterSpec spec, HostSpec host) => Path.Combine(DirectoryFor(spec), host.Name + ".log");

    /// <summary>Starts the agent of each host that has none running; <paramref name="agent"/> is the overlayctl command line up to its arguments (<c>[overlayctl]</c> or <c>[dotnet, overlayctl.dll]</c>).</summary>
    public async Task<LabResult> UpAsync(ClusterSpec spec, string specPath, IReadOnlyList<HostSpec> hosts, IReadOnlyList<string> agent, IReadOnlyList<string> agentOptions, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DirectoryFor(spec));
        var created = new List<string>();
        var unchanged = new List<string>();
        foreach (var host in hosts)
        {
            if (host.Connection is not HostConnection.Netns netns) continue;
            if (await RunningAsync(spec, host, cancellationToken).ConfigureAwait(false))
            {
                unchanged.Add($"agent {host.Name}");
                continue;
            }
            var start = new CommandSpec(Daemon, [
                "--start", "--background", "--make-pidfile", "--pidfile", PidFile(spec, host), "--output", LogFile(spec, host),
                "--startas", "/usr/sbin/ip", "--", "netns", "exec", netns.Name,
                .. agent, "agent", "-f", Path.GetFullPath(specPath), "--host", host.Name, .. agentOptions]);
            await MustAsync(start, cancellationToken).ConfigureAwait(false);
            created.Add($"agent {host.Name} (log {LogFile(spec, host)})");
        }
        return new LabResult(created, [], unchanged);
    }

    /// <summary>
    /// Stops each host's agent (SIGTERM, then SIGKILL after 10 s). With <paramref name="forget"/> (lab down)
    /// their logs and state files go too, and the lab's directory when nothing is left in it.
    /// </summary>
    public async Task<LabResult> DownAsync(ClusterSpec spec, IReadOnlyList<HostSpec> hosts, CancellationToken cancellationToken, bool forget = false)
    {
        var removed = new List<string>();
        foreach (var host in hosts.Where(h => File.Exists(PidFile(spec, h))))
        {
            var stop = await processes.RunAsync(Root, CommandSpec.Of(Daemon, "--stop", "--pidfile", PidFile(spec, host), "--retry", "TERM/10/KILL/5", "--remove-pidfile"), cancellationToken).ConfigureAwait(false);
            // Exit 1: nothing was running (a stale pid file).
            if (stop.ExitCode is not (0 or 1)) throw new CommandFailedException(Root, CommandSpec.Of(Daemon, "--stop"), stop);
            File.Delete(PidFile(spec, host));
            if (stop.ExitCode == 0) removed.Add($"agent {host.Name}");
        }
        if (forget)
        {
            foreach (var file in hosts.SelectMany(h => new[] { LogFile(spec, h), RunPaths.AgentState(spec.Name, h.Name) }).Where(File.Exists))
                File.Delete(file);
            if (Directory.Exists(DirectoryFor(spec)) && !Directory.EnumerateFileSystemEntries(DirectoryFor(spec)).Any()) Directory.Delete(DirectoryFor(spec));
        }
        return new LabResult([], removed, []);
    }

    private async Task<bool> RunningAsync(ClusterSpec spec, HostSpec host, CancellationToken cancellationToken) =>
        File.Exists(PidFile(spec, host))
        && (await processes.RunAsync(Root, CommandSpec.Of(Daemon, "--status", "--pidfile", PidFile(spec, host)), cancellationToken).ConfigureAwait(false)).Succeeded;

    private async Task MustAsync(CommandSpec command, CancellationToken cancellationToken)
    {
        var result = await processes.RunAsync(Root, command, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw new CommandFailedException(Root, command, result);
    }
}
