using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Verification;
using Serilog;

namespace OverlayCtl.Hosts.Probe;

/// <summary>
/// Makes, uses and removes <see cref="ContainerProbe"/>s through each host's runner (local, namespace or ssh),
/// so a probe is made wherever the host is. Every command is bounded in time: a ping waits
/// <see cref="ContainerProbe.ReplySeconds"/>, a TCP exchange <see cref="TcpSeconds"/>.
/// </summary>
public static class ProbeDriver
{
    /// <summary>How long a TCP sender may take to connect and send; its listener waits one second more.</summary>
    public const int TcpSeconds = 2;

    /// <summary>The exit code of <c>timeout</c> or a shell when the program is not installed.</summary>
    private const int NotInstalled = 127;

    /// <summary>
    /// Makes the probe, then pings its gateway as a starting container does: the host learns the probe's MAC from
    /// its ARP request, replacing one a previous probe at the same address left in the host's neighbour cache
    /// (else replies would go to that MAC for seconds), and a bridge that is down shows here, named.
    /// </summary>
    public static async Task CreateAsync(IHostRunner runner, ContainerProbe probe, CancellationToken cancellationToken)
    {
        foreach (var command in probe.Create())
            await runner.MustAsync(command, cancellationToken).ConfigureAwait(false);
        var ping = probe.Ping(probe.Gateway);
        var result = await runner.RunAsync(ping, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new CommandFailedException(runner.HostName, ping, result with { StandardError = $"a probe on {probe.Bridge} gets no reply from its gateway {probe.Gateway}: is {probe.Bridge} down?" });
    }

    /// <summary>
    /// Removes a probe whatever creation left of it. Never cancelled, so Ctrl-C still cleans up; a step
    /// that fails (nothing left to remove) is logged at debug and never stops the others.
    /// </summary>
    public static async Task RemoveAsync(IHostRunner runner, ContainerProbe probe, ILogger log)
    {
        foreach (var command in probe.Remove())
        {
            try
            {
                var result = await runner.RunAsync(command, CancellationToken.None).ConfigureAwait(false);
                if (!result.Succeeded) log.Debug("{Host}: {Command}: {Error}", runner.HostName, command.ToString(), result.StandardError.Trim());
            }
            catch (CommandFailedException e)
            {
                log.Warning("{Host}: probe {Namespace} may be left behind: {Message}", runner.HostName, probe.Namespace, e.Message);
            }
        }
    }

    /// <summary>
    /// Probes <paramref name="to"/> from <paramref name="from"/>: a small echo; when it comes back, a don't-fragment
    /// echo at the overlay MTU and a TCP exchange of three MTUs on <paramref name="port"/>; meanwhile the source
    /// host pings the destination's underlay address.
    /// </summary>
    public static async Task<PairProbe> PairAsync(IHostRunner fromRunner, ContainerProbe from, IHostRunner toRunner, ContainerProbe to, Ipv4Address toUnderlay, int port, CancellationToken cancellationToken)
    {
        var underlay = fromRunner.RunAsync(ContainerProbe.HostPing(toUnderlay), cancellationToken);
        var small = await fromRunner.RunAsync(from.Ping(to.Address), cancellationToken).ConfigureAwait(false);
        if (!small.Succeeded)
            return new PairProbe(false, null, null, null, (await underlay.ConfigureAwait(false)).Succeeded);
        // ICMP header and IPv4 header: a payload of MTU - 28 makes an MTU-sized packet.
        var full = await fromRunner.RunAsync(from.Ping(to.Address, from.Mtu - 28), cancellationToken).ConfigureAwait(false);
        var tcp = await ExchangeAsync(fromRunner, from, toRunner, to, port, cancellationToken).ConfigureAwait(false);
        return new PairProbe(true, full.Succeeded, PairResult.ReportedMtu(full.StandardOutput + full.StandardError), tcp, (await underlay.ConfigureAwait(false)).Succeeded)
        {
            Ipv6 = from.Ipv6 is { } v6 && to.Ipv6 is { } peer ? await Pair6Async(fromRunner, from, v6, toRunner, to, peer, port, cancellationToken).ConfigureAwait(false) : null,
        };
    }

    /// <summary>The IPv6 half between two dual-stack probes, on the same port (the IPv4 exchange is over by then).</summary>
    private static async Task<PairProbe6> Pair6Async(IHostRunner fromRunner, ContainerProbe from, Ipv6Side v6, IHostRunner toRunner, ContainerProbe to, Ipv6Side peer, int port, CancellationToken cancellationToken)
    {
        var small = await fromRunner.RunAsync(from.Ping6(peer.Address), cancellationToken).ConfigureAwait(false);
        if (!small.Succeeded) return new PairProbe6(false, null, null, null);
        // ICMPv6 header and IPv6 header: a payload of MTU - 48 makes an MTU-sized packet.
        var full = await fromRunner.RunAsync(from.Ping6(peer.Address, v6.Mtu - 48), cancellationToken).ConfigureAwait(false);
        var payload = new string('x', 3 * v6.Mtu);
        var listen = to.Listen(port, TcpSeconds + 1, ipv6: true);
        var listener = toRunner.RunAsync(listen, cancellationToken);
        var send = from.Send(peer.Address, port, payload, TcpSeconds);
        Installed(fromRunner, send, await fromRunner.RunAsync(send, cancellationToken).ConfigureAwait(false));
        var received = Installed(toRunner, listen, await listener.ConfigureAwait(false));
        return new PairProbe6(true, full.Succeeded, PairResult.ReportedMtu(full.StandardOutput + full.StandardError), new TcpExchange(payload.Length, received.StandardOutput.Length));
    }

    /// <summary>More than one MTU over TCP, so a path that passes small packets but drops full-size segments is caught.</summary>
    private static async Task<TcpExchange> ExchangeAsync(IHostRunner fromRunner, ContainerProbe from, IHostRunner toRunner, ContainerProbe to, int port, CancellationToken cancellationToken)
    {
        var payload = new string('x', 3 * from.Mtu);
        var listen = to.Listen(port, TcpSeconds + 1);
        var listener = toRunner.RunAsync(listen, cancellationToken);
        var send = from.Send(to.Address, port, payload, TcpSeconds);
        Installed(fromRunner, send, await fromRunner.RunAsync(send, cancellationToken).ConfigureAwait(false));
        var received = Installed(toRunner, listen, await listener.ConfigureAwait(false));
        return new TcpExchange(payload.Length, received.StandardOutput.Length);
    }

    /// <summary>A missing socat is the host's problem to fix, not a broken network.</summary>
    private static CommandResult Installed(IHostRunner runner, CommandSpec command, CommandResult result) =>
        result.ExitCode == NotInstalled ? throw new CommandFailedException(runner.HostName, command, result) : result;
}
