namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>
/// One rtnetlink socket to a host's kernel, read (<see cref="Reader"/>) and written (<see cref="Writer"/>) in
/// process: what an agent observes and changes for its peers without starting a process.
/// </summary>
public sealed class HostKernel : IDisposable
{
    private readonly NetlinkSocket _socket;

    private HostKernel(NetlinkSocket socket)
    {
        _socket = socket;
        Reader = new RtnetlinkReader(socket);
        Writer = new RtnetlinkWriter(socket);
    }

    public RtnetlinkReader Reader { get; }

    public RtnetlinkWriter Writer { get; }

    /// <summary>The kernel of this process's network namespace (<paramref name="netnsName"/> null) or of <c>/run/netns/NAME</c>.</summary>
    public static HostKernel Open(string? netnsName) => new(NetlinkSocket.Open(netnsName));

    public void Dispose() => _socket.Dispose();
}
