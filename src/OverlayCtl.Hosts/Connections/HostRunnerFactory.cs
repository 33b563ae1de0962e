using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Hosts.Connections;

/// <summary>Picks the runner for a host's connection.</summary>
public static class HostRunnerFactory
{
    /// <summary>
    /// The runner for <paramref name="host"/>. Over ssh, <paramref name="connections"/> are the run's shared connections
    /// (one per host, closed when the run ends); without them every command opens its own.
    /// </summary>
    public static IHostRunner Create(HostSpec host, ProcessRunner processes, IReadOnlyList<string>? sshOptions = null, SshConnections? connections = null) => host.Connection switch
    {
        HostConnection.Local => new LocalHostRunner(host.Name, processes),
        HostConnection.Netns n => new NetnsHostRunner(host.Name, n.Name, processes),
        HostConnection.Ssh s => new SshHostRunner(host.Name, s, processes, sshOptions, connections),
        _ => throw new ArgumentOutOfRangeException(nameof(host), host.Connection, "unknown connection kind"),
    };
}
