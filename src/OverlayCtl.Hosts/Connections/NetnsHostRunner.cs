using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>A lab or CI host: a network namespace on this machine (<c>ip netns exec NAME ...</c>).</summary>
public sealed class NetnsHostRunner(string hostName, string netns, ProcessRunner processes) : LocalHostRunner(hostName, processes)
{
    public string Netns { get; } = netns;

    public override Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken) =>
        Processes.RunAsync(HostName, command with { Program = "ip", Arguments = ["netns", "exec", Netns, command.Program, .. command.Arguments] }, cancellationToken);
}
