using System.Net.Sockets;
using Serilog;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// systemd's readiness protocol (sd_notify): one datagram, <c>READY=1</c>, to the socket systemd names in
/// <c>$NOTIFY_SOCKET</c> (a leading '@' is an abstract socket). Nothing happens outside systemd.
/// </summary>
internal static class SystemdNotify
{
    public static void Ready(ILogger log)
    {
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path)) return;
        if (path[0] == '@') path = "\0" + path[1..];
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.SendTo("READY=1"u8, new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            log.Warning("could not tell systemd the agent is ready ({Message}); units ordered after it wait for their timeout", e.Message);
        }
    }
}
