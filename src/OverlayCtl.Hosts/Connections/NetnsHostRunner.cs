using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// A lab or CI host: a network namespace on this machine (<c>ip netns exec NAME ...</c>). Named namespaces are
/// files of the machine's <c>/run/netns</c>, which the host shares, but <c>ip netns exec</c> runs in a private
/// mount namespace where an <c>ip netns add</c> vanishes with the command; so adding and deleting one (a
/// verify probe's) happens on the machine, and the host sees it as a host on its own would.
/// </summary>
public sealed class NetnsHostRunner(string hostName, string netns, ProcessRunner processes) : MachineHostRunner(hostName, processes)
{
    public string Netns { get; } = netns;

    public override Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) => NamesNamespace(command)
        ? base.RunAsync(command, cancellationToken)
        : Processes.RunAsync(HostName, command with { Program = "ip", Arguments = ["netns", "exec", Netns, .. WithPrivateRun(command)] }, cancellationToken);

    /// <summary>
    /// Mounts each directory under <see cref="RunPaths.NetnsPrivate"/> over its <c>/run/NAME</c> in the private mount
    /// namespace <c>ip netns exec</c> gives the command (a daemon started there keeps it), so this host has its own
    /// as a real host would. Without such directories (every lab but a WireGuard one) the command runs as it is.
    /// </summary>
    private IReadOnlyList<string> WithPrivateRun(CommandSpec command)
    {
        var directory = RunPaths.NetnsPrivate(Netns);
        if (!Directory.Exists(directory)) return [command.Program, .. command.Arguments];
        return ["sh", "-c", MountPrivateRun, "sh", directory, command.Program, .. command.Arguments];
    }

    /// <summary>$1 the directory of stand-ins, then the command.</summary>
    private const string MountPrivateRun = """
        for d in "$1"/*/; do
          [ -d "$d" ] || continue
          n=$(basename -- "$d")
          mkdir -p -- "/run/$n" && mount --bind "$d" "/run/$n" || exit 125
        done
        shift
        exec "$@"
        """;

    private static bool NamesNamespace(CommandSpec command) =>
        command.Program == "ip" && command.Arguments is ["netns", "add" or "del" or "delete", _];
}
