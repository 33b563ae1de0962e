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
        : Processes.RunAsync(HostName, command with { Program = "ip", Arguments = ["netns", "exec", Netns, command.Program, .. command.Arguments] }, cancellationToken);

    private static bool NamesNamespace(CommandSpec command) =>
        command.Program == "ip" && command.Arguments is ["netns", "add" or "del" or "delete", _];
}
