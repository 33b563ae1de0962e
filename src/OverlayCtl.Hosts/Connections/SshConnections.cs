using System.Globalization;
using OverlayCtl.Core;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// One ssh connection per host for a whole run (OpenSSH connection sharing): each host's first command opens a
/// master connection (<c>ControlMaster=auto</c>), every later command rides on it, and <see cref="DisposeAsync"/>
/// closes them all (<c>ssh -O exit</c>) and removes their sockets. A handshake costs about 0.4 s, a command over a
/// master about 0.15 s; without sharing an observation alone paid seven handshakes per host.
/// <para>
/// The control sockets live in a directory of this run's own, mode 0700, so no other user can ride on them, with a
/// short path (a unix socket path has at most 107 bytes, and ssh adds a 17-byte suffix while it makes one). A master
/// outlives an idle minute only while a command uses it (<c>ControlPersist=60</c>): a run killed before it could close
/// them leaves nothing behind for long.
/// </para>
/// </summary>
public sealed class SshConnections(ProcessRunner processes) : IAsyncDisposable, IDisposable
{
    private const int SocketPathLimit = 107 - 17;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SshConnection> _connections = new(StringComparer.Ordinal);
    private string? _directory;

    /// <summary>
    /// The shared connection to <paramref name="destination"/> (user@host) on <paramref name="port"/>: the same one for
    /// every runner of the run that names it, however many runners the run makes for a host.
    /// </summary>
    public SshConnection For(string destination, int port)
    {
        lock (_lock)
        {
            var key = destination + ":" + port.ToString(CultureInfo.InvariantCulture);
            if (_connections.TryGetValue(key, out var known)) return known;
            _directory ??= MakeDirectory();
            var path = Path.Combine(_directory, "h" + _connections.Count.ToString(CultureInfo.InvariantCulture));
            return _connections[key] = new SshConnection(path, destination);
        }
    }

    /// <summary>The run's socket directory: made new (never one that was there) with mode 0700 under the temporary directory.</summary>
    private static string MakeDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("ovlssh-").FullName;
        // Made 0700 by the runtime already; said again, since a socket anyone could reach would be a login anyone could use.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (directory.Length + 6 <= SocketPathLimit && directory.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-')) return directory;
        Directory.Delete(directory);
        throw new InputException($"the temporary directory {Path.GetTempPath()} makes ssh control socket paths too long (a unix socket path has at most 107 bytes) or holds characters ssh options cannot carry (fix: set TMPDIR to a short plain path, e.g. TMPDIR=/tmp)");
    }

    /// <summary>Closes every master this run opened and removes the directory; a host whose master is gone already is skipped.</summary>
    public async ValueTask DisposeAsync()
    {
        List<SshConnection> masters;
        string? directory;
        lock (_lock)
        {
            masters = [.. _connections.Values];
            _connections.Clear();
            directory = _directory;
            _directory = null;
        }
        // Never cancelled: a run interrupted by Ctrl-C still closes what it opened.
        await Task.WhenAll(masters.Where(m => Path.Exists(m.ControlPath)).Select(m =>
            processes.RunAsync("ssh", CommandSpec.Of("ssh", "-o", "ControlPath=" + m.ControlPath, "-O", "exit", m.Destination), CancellationToken.None))).ConfigureAwait(false);
        if (directory is not null && Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}

/// <summary>
/// One host's shared ssh connection: its control socket, and the gate that lets the first command open the master
/// connection alone, so commands started at once never race into a handshake each.
/// </summary>
public sealed class SshConnection(string controlPath, string destination)
{
    private readonly SemaphoreSlim _opening = new(1, 1);
    private volatile bool _opened;

    public string ControlPath { get; } = controlPath;

    public string Destination { get; } = destination;

    /// <summary>What makes an ssh command use (or, first, open) this connection.</summary>
    public IReadOnlyList<string> Options => ["-o", "ControlMaster=auto", "-o", "ControlPath=" + ControlPath, "-o", "ControlPersist=60"];

    /// <summary>
    /// Runs <paramref name="run"/>: at once when the connection is open, else alone, and opens it. Opened or not (a host
    /// that cannot be reached), the commands waiting go on together after it: one failure each, not one after another.
    /// </summary>
    public async Task<T> UseAsync<T>(Func<Task<T>> run, CancellationToken cancellationToken)
    {
        if (_opened) return await run().ConfigureAwait(false);
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_opened) return await run().ConfigureAwait(false);
            try
            {
                return await run().ConfigureAwait(false);
            }
            finally
            {
                _opened = true;
            }
        }
        finally
        {
            _opening.Release();
        }
    }
}
