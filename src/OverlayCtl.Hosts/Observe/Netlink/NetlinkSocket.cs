using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>
/// A failed netlink or namespace call: the socket could not be made, the namespace does not exist, or
/// the kernel answered a request with an error. <see cref="Errno"/> is the C errno (0 when none applies).
/// </summary>
public sealed class NetlinkException(string message, int errno = 0) : Exception(message)
{
    public int Errno { get; } = errno;
}

/// <summary>
/// One netlink socket (NETLINK_ROUTE, or NETLINK_NETFILTER for rule notifications), made with libc because .NET's <c>Socket</c> has no AF_NETLINK. A socket
/// stays in the network namespace it was created in, so a socket for a named namespace is made on a
/// thread of its own that enters the namespace, creates it, goes back and ends: no other thread (and
/// not the caller's) ever changes namespace. Requests are serialised: one dump at a time.
/// </summary>
internal sealed unsafe partial class NetlinkSocket : IDisposable
{
    /// <summary>Where <c>ip netns add NAME</c> pins a namespace.</summary>
    public const string NetnsDirectory = "/run/netns";

    private const int HeaderLength = 16;
    private const int InitialBuffer = 64 * 1024;

    private readonly Lock _gate = new();
    private int _fd;
    private uint _sequence;
    private byte[] _buffer = new byte[InitialBuffer];

    private NetlinkSocket(int fd, uint portId, int groups)
    {
        _fd = fd;
        PortId = portId;
        Groups = groups;
        _sequence = (uint)Environment.TickCount;
    }

    /// <summary>The port id the kernel gave this socket: replies to our requests carry it.</summary>
    public uint PortId { get; }

    /// <summary>The legacy multicast group bitmask the socket was bound to (0 for a request socket).</summary>
    public int Groups { get; }

    /// <summary>
    /// A socket in the calling process's namespace (<paramref name="netnsName"/> null) or in
    /// <c>/run/netns/NAME</c>, bound to <paramref name="groups"/> (RTMGRP_* bits) for notifications.
    /// </summary>
    public static NetlinkSocket Open(string? netnsName, int groups = 0, int protocol = Native.NETLINK_ROUTE)
    {
        if (netnsName is null) return Create(groups, protocol);
        if (netnsName.Length == 0 || netnsName.Contains('/', StringComparison.Ordinal) || netnsName is "." or ".." || netnsName.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException($"'{netnsName}' is not a network namespace name", nameof(netnsName));

        NetlinkSocket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                socket = CreateIn(netnsName, groups, protocol);
            }
#pragma warning disable CA1031 // Handed to the caller, which rethrows it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "netlink-netns",
        };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return socket!;
    }

    /// <summary>
    /// Runs on a thread that ends right after: enters the namespace, creates the socket, returns to the
    /// thread's own namespace.
    /// </summary>
    private static NetlinkSocket CreateIn(string netnsName, int groups, int protocol)
    {
        var path = NetnsDirectory + "/" + netnsName;
        var home = Native.open("/proc/thread-self/ns/net", Native.O_RDONLY | Native.O_CLOEXEC);
        if (home < 0) throw Failure("open /proc/thread-self/ns/net", Marshal.GetLastPInvokeError());
        try
        {
            var target = Native.open(path, Native.O_RDONLY | Native.O_CLOEXEC);
            if (target < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw errno == Native.ENOENT
                    ? new NetlinkException($"network namespace '{netnsName}' does not exist ({path}: no such file)", errno)
                    : Failure("open " + path, errno);
            }
            try
            {
                if (Native.setns(target, Native.CLONE_NEWNET) != 0)
                    throw Failure($"setns into network namespace '{netnsName}'", Marshal.GetLastPInvokeError());
            }
            finally
            {
                _ = Native.close(target);
            }
            NetlinkSocket? socket = null;
            try
            {
                socket = Create(groups, protocol);
            }
            finally
            {
                if (Native.setns(home, Native.CLONE_NEWNET) != 0)
                {
                    // The thread ends right after, but a thread left in another namespace is refused loudly.
                    var errno = Marshal.GetLastPInvokeError();
                    socket?.Dispose();
#pragma warning disable CA2219 // Replacing a socket failure by the worse one is intended.
                    throw Failure("setns back to the thread's own network namespace", errno);
#pragma warning restore CA2219
                }
            }
            return socket;
        }
        finally
        {
            _ = Native.close(home);
        }
    }

    private static NetlinkSocket Create(int groups, int protocol)
    {
        var fd = Native.socket(Native.AF_NETLINK, Native.SOCK_RAW | Native.SOCK_CLOEXEC, protocol);
        if (fd < 0) throw Failure("socket(AF_NETLINK)", Marshal.GetLastPInvokeError());
        try
        {
            // Notifications can come in bursts (a flush of 100 routes); dumps are paced by our reads.
            var size = 1024 * 1024;
            _ = Native.setsockopt(fd, Native.SOL_SOCKET, Native.SO_RCVBUF, &size, sizeof(int));
            if (groups == 0)
            {
                // A request socket: a kernel that never answers is a failure, not a hang.
                var timeout = new Native.Timeval { Seconds = 10 };
                _ = Native.setsockopt(fd, Native.SOL_SOCKET, Native.SO_RCVTIMEO, &timeout, sizeof(Native.Timeval));
            }
            var address = new Native.SockaddrNl { Family = Native.AF_NETLINK, Groups = (uint)groups };
            if (Native.bind(fd, &address, sizeof(Native.SockaddrNl)) != 0) throw Failure("bind(AF_NETLINK)", Marshal.GetLastPInvokeError());
            var length = sizeof(Native.SockaddrNl);
            if (Native.getsockname(fd, &address, &length) != 0) throw Failure("getsockname(AF_NETLINK)", Marshal.GetLastPInvokeError());
            return new NetlinkSocket(fd, address.PortId, groups);
        }
        catch
        {
            _ = Native.close(fd);
            throw;
        }
    }

    /// <summary>
    /// Sends a dump request (<c>NLM_F_REQUEST | NLM_F_DUMP</c>) whose body is <paramref name="body"/>
    /// and hands every reply message (type and payload after the netlink header) to <paramref name="onMessage"/>
    /// until NLMSG_DONE. Replies to other sequence numbers (a dump abandoned earlier) are skipped. A dump
    /// the kernel marks interrupted (NLM_F_DUMP_INTR: the table changed under it) is started again, as is
    /// one whose reply ended early, up to a few times; <paramref name="restart"/> is called before each
    /// new attempt so the caller can drop what it collected.
    /// </summary>
    public void Dump(ushort type, ReadOnlySpan<byte> body, Action<ushort, ReadOnlySpan<byte>> onMessage, Action restart)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            for (var attempt = 1; ; attempt++)
            {
                var interrupted = DumpOnce(type, body, onMessage);
                if (!interrupted) return;
                if (attempt == 5) throw new NetlinkException(string.Create(CultureInfo.InvariantCulture, $"netlink dump of message type {type} was interrupted {attempt} times: the table keeps changing"), Native.EINTR);
                restart();
            }
        }
    }

    private bool DumpOnce(ushort type, ReadOnlySpan<byte> body, Action<ushort, ReadOnlySpan<byte>> onMessage)
    {
        var sequence = ++_sequence;
        Span<byte> request = stackalloc byte[HeaderLength + body.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        MemoryMarshal.Write(request[4..], type);
        MemoryMarshal.Write(request[6..], (ushort)(Native.NLM_F_REQUEST | Native.NLM_F_DUMP));
        MemoryMarshal.Write(request[8..], sequence);
        MemoryMarshal.Write(request[12..], 0u);
        body.CopyTo(request[HeaderLength..]);
        Send(request);

        var interrupted = false;
        while (true)
        {
            var length = Receive();
            var datagram = _buffer.AsSpan(0, length);
            while (datagram.Length >= HeaderLength)
            {
                var messageLength = (int)MemoryMarshal.Read<uint>(datagram);
                if (messageLength < HeaderLength || messageLength > datagram.Length)
                    throw new NetlinkException(string.Create(CultureInfo.InvariantCulture, $"malformed netlink message (length {messageLength} in a datagram of {datagram.Length} bytes)"));
                var messageType = MemoryMarshal.Read<ushort>(datagram[4..]);
                var flags = MemoryMarshal.Read<ushort>(datagram[6..]);
                var messageSequence = MemoryMarshal.Read<uint>(datagram[8..]);
                var port = MemoryMarshal.Read<uint>(datagram[12..]);
                var payload = datagram[HeaderLength..messageLength];
                datagram = datagram[Math.Min(Align(messageLength), datagram.Length)..];
                if (messageSequence != sequence || port != PortId) continue;
                if ((flags & Native.NLM_F_DUMP_INTR) != 0) interrupted = true;
                switch (messageType)
                {
                    case Native.NLMSG_NOOP:
                        continue;
                    case Native.NLMSG_DONE:
                        // The payload is an int: a negative errno when the dump itself failed.
                        var done = payload.Length >= 4 ? MemoryMarshal.Read<int>(payload) : 0;
                        if (done == -Native.EINTR) return true;
                        if (done < 0) throw Failure(string.Create(CultureInfo.InvariantCulture, $"netlink dump of message type {type}"), -done);
                        return interrupted;
                    case Native.NLMSG_ERROR:
                        var error = payload.Length >= 4 ? MemoryMarshal.Read<int>(payload) : -Native.EIO;
                        if (error == 0) return interrupted;
                        if (error == -Native.EINTR) return true;
                        throw Failure(string.Create(CultureInfo.InvariantCulture, $"netlink dump of message type {type}"), -error);
                    default:
                        onMessage(messageType, payload);
                        break;
                }
            }
        }
    }

    /// <summary>
    /// Sends one change request (<c>NLM_F_REQUEST | NLM_F_ACK | </c><paramref name="flags"/>) and waits for the
    /// kernel's acknowledgement; a refusal is a <see cref="NetlinkException"/> worded as iproute2 prints it
    /// (<c>RTNETLINK answers: File exists</c>), with its errno.
    /// </summary>
    public void Request(ushort type, ushort flags, ReadOnlySpan<byte> body)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            var sequence = ++_sequence;
            Span<byte> request = stackalloc byte[HeaderLength + body.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
            MemoryMarshal.Write(request[4..], type);
            MemoryMarshal.Write(request[6..], (ushort)(Native.NLM_F_REQUEST | Native.NLM_F_ACK | flags));
            MemoryMarshal.Write(request[8..], sequence);
            MemoryMarshal.Write(request[12..], 0u);
            body.CopyTo(request[HeaderLength..]);
            Send(request);
            while (true)
            {
                var datagram = _buffer.AsSpan(0, Receive());
                while (datagram.Length >= HeaderLength)
                {
                    var messageLength = (int)MemoryMarshal.Read<uint>(datagram);
                    if (messageLength < HeaderLength || messageLength > datagram.Length) break;
                    var messageType = MemoryMarshal.Read<ushort>(datagram[4..]);
                    var messageSequence = MemoryMarshal.Read<uint>(datagram[8..]);
                    var payload = datagram[HeaderLength..messageLength];
                    datagram = datagram[Math.Min(Align(messageLength), datagram.Length)..];
                    if (messageSequence != sequence || messageType != Native.NLMSG_ERROR) continue;
                    var error = payload.Length >= 4 ? -MemoryMarshal.Read<int>(payload) : Native.EIO;
                    if (error == 0) return;
                    throw new NetlinkException("RTNETLINK answers: " + Marshal.GetPInvokeErrorMessage(error), error);
                }
            }
        }
    }

    /// <summary>Turns one notification (message type and payload) into a line; null for one not worth a line.</summary>
    public delegate string? Formatter(ushort type, ReadOnlySpan<byte> payload);

    /// <summary>Written when the kernel dropped notifications (receive buffer overrun): the reader should look at everything again.</summary>
    public const string Overrun = "overrun: notifications were lost";

    /// <summary>
    /// The lines <paramref name="format"/> makes of this (group-bound) socket's notifications until cancelled,
    /// read by a long-running thread of their own; <see cref="Overrun"/> when some were lost. The socket stays
    /// the caller's to dispose, after the enumeration ended.
    /// </summary>
    public async IAsyncEnumerable<string> NotificationsAsync(Formatter format, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var lines = System.Threading.Channels.Channel.CreateUnbounded<string>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pump = Task.Factory.StartNew(() => Pump(format, lines.Writer, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return line;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            // The pump wakes at least every 200 ms to see the cancellation; the socket may close once it stopped.
            await pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Pump(Formatter format, System.Threading.Channels.ChannelWriter<string> lines, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                List<(ushort Type, byte[] Payload)> messages;
                try
                {
                    messages = ReceiveNotifications(200);
                }
                catch (NetlinkException e) when (e.Errno == Native.ENOBUFS)
                {
                    lines.TryWrite(Overrun);
                    continue;
                }
                foreach (var (type, payload) in messages)
                    if (format(type, payload) is { } line) lines.TryWrite(line);
            }
            lines.TryComplete();
        }
#pragma warning disable CA1031 // Handed to the reader of the lines, which rethrows it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            lines.TryComplete(e);
        }
    }

    /// <summary>
    /// The next notification's messages (type and payload), blocking until one comes or
    /// <paramref name="timeoutMilliseconds"/> passes (then none). For a socket bound to groups.
    /// </summary>
    public List<(ushort Type, byte[] Payload)> ReceiveNotifications(int timeoutMilliseconds)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_fd < 0, this);
            var result = new List<(ushort, byte[])>();
            var poll = new Native.Pollfd { Fd = _fd, Events = Native.POLLIN };
            int ready;
            while ((ready = Native.poll(&poll, 1, timeoutMilliseconds)) < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Native.EINTR) throw Failure("poll(netlink)", errno);
            }
            if (ready == 0) return result;
            var length = Receive();
            var datagram = _buffer.AsSpan(0, length);
            while (datagram.Length >= HeaderLength)
            {
                var messageLength = (int)MemoryMarshal.Read<uint>(datagram);
                if (messageLength < HeaderLength || messageLength > datagram.Length) break;
                var messageType = MemoryMarshal.Read<ushort>(datagram[4..]);
                if (messageType is not (Native.NLMSG_NOOP or Native.NLMSG_DONE or Native.NLMSG_ERROR))
                    result.Add((messageType, datagram[HeaderLength..messageLength].ToArray()));
                datagram = datagram[Math.Min(Align(messageLength), datagram.Length)..];
            }
            return result;
        }
    }

    private void Send(ReadOnlySpan<byte> request)
    {
        var kernel = new Native.SockaddrNl { Family = Native.AF_NETLINK };
        fixed (byte* data = request)
        {
            while (true)
            {
                var sent = Native.sendto(_fd, data, (nuint)request.Length, 0, &kernel, sizeof(Native.SockaddrNl));
                if (sent >= 0) return;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Native.EINTR) throw Failure("sendto(netlink)", errno);
            }
        }
    }

    /// <summary>
    /// One whole datagram into <see cref="_buffer"/>: its size is peeked first (MSG_PEEK | MSG_TRUNC
    /// returns the real length) and the buffer grown to fit, so no message is ever cut.
    /// </summary>
    private int Receive()
    {
        while (true)
        {
            var size = ReceiveInto(Native.MSG_PEEK | Native.MSG_TRUNC);
            if (size > _buffer.Length) _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
            var length = ReceiveInto(0);
            if (length <= _buffer.Length) return length;
        }
    }

    private int ReceiveInto(int flags)
    {
        fixed (byte* data = _buffer)
        {
            while (true)
            {
                var received = Native.recv(_fd, data, (nuint)_buffer.Length, flags);
                if (received >= 0) return (int)received;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Native.EINTR) continue;
                if (errno is Native.EAGAIN) throw new NetlinkException("the kernel did not answer a netlink request within 10 s", errno);
                if (errno == Native.ENOBUFS && Groups != 0) throw new NetlinkException("netlink notifications were lost (receive buffer overrun)", errno);
                throw Failure("recv(netlink)", errno);
            }
        }
    }

    private static int Align(int length) => (length + 3) & ~3;

    private static NetlinkException Failure(string what, int errno) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})"), errno);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_fd < 0) return;
            _ = Native.close(_fd);
            _fd = -1;
        }
    }

    /// <summary>libc's socket and namespace calls; every argument blittable, so NativeAOT needs no marshalling stubs.</summary>
    internal static partial class Native
    {
        public const int AF_NETLINK = 16;
        public const int SOCK_RAW = 3;
        public const int SOCK_CLOEXEC = 0x80000;
        public const int NETLINK_ROUTE = 0;
        public const int NETLINK_NETFILTER = 12;
        public const int SOL_SOCKET = 1;
        public const int SO_RCVBUF = 8;
        public const int SO_RCVTIMEO = 20;
        public const int MSG_PEEK = 0x2;
        public const int MSG_TRUNC = 0x20;
        public const int O_RDONLY = 0;
        public const int O_CLOEXEC = 0x80000;
        public const int CLONE_NEWNET = 0x40000000;
        public const short POLLIN = 1;
        public const int ENOENT = 2;
        public const int EINTR = 4;
        public const int EIO = 5;
        public const int EAGAIN = 11;
        public const int ENOBUFS = 105;
        public const int NLM_F_REQUEST = 0x1;
        public const int NLM_F_ACK = 0x4;
        public const int NLM_F_DUMP = 0x300;
        public const int NLM_F_DUMP_INTR = 0x10;
        public const ushort NLMSG_NOOP = 1;
        public const ushort NLMSG_ERROR = 2;
        public const ushort NLMSG_DONE = 3;

        [StructLayout(LayoutKind.Sequential)]
        public struct SockaddrNl
        {
            public ushort Family;
            public ushort Pad;
            public uint PortId;
            public uint Groups;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct Timeval
        {
            public long Seconds;
            public long Microseconds;
        }

        [StructLayout(LayoutKind.Sequential)]
        public struct Pollfd
        {
            public int Fd;
            public short Events;
            public short Revents;
        }

        [LibraryImport("libc", SetLastError = true)]
        public static partial int socket(int domain, int type, int protocol);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int bind(int fd, SockaddrNl* address, int length);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int getsockname(int fd, SockaddrNl* address, int* length);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int setsockopt(int fd, int level, int name, void* value, int length);

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint sendto(int fd, byte* data, nuint length, int flags, SockaddrNl* address, int addressLength);

        [LibraryImport("libc", SetLastError = true)]
        public static partial nint recv(int fd, byte* data, nuint length, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int poll(Pollfd* fds, nuint count, int timeoutMilliseconds);

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int open(string path, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int setns(int fd, int type);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int close(int fd);
    }
}
