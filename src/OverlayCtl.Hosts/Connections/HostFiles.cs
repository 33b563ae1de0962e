using OverlayCtl.Core.Files;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// The files overlayctl owns on a host (daemon.json, subnet.env), read and written the same way on every
/// connection: small fixed POSIX sh programs run through the host's own runner as
/// <c>sh -c PROGRAM sh PATH [BACKUP]</c>, so the path is an argument and never part of a command string,
/// and the runner's timeout bounds them. They edit an operator's file in place rather than replace it: a
/// symbolic link is followed and its target written; the file keeps its mode and owner (the new content
/// goes into a copy made with <c>cp -p</c>, then renamed over it); the first write keeps the original as
/// BACKUP (empty when there was none), never overwritten; only regular files are read or written (a FIFO would block a reader forever);
/// the temporary file is removed however the write ends (an immutable file refuses the rename).
/// </summary>
public static class HostFiles
{
    /// <summary>Names what a path is when it is not a regular file; shared by both programs.</summary>
    private const string Kind = """
        kind() {
          if [ -d "$1" ]; then echo "a directory"; elif [ -p "$1" ]; then echo "a pipe (FIFO)";
          elif [ -c "$1" ]; then echo "a character device"; elif [ -b "$1" ]; then echo "a block device";
          elif [ -S "$1" ]; then echo "a socket"; else echo "a special file"; fi
        }

        """;

    /// <summary>Exit 3: absent (a dangling link too: writing creates its target); exit 4: not a regular file.</summary>
    private const string ReadProgram = Kind + """
        [ -e "$1" ] || exit 3
        if [ ! -f "$1" ]; then kind "$1" >&2; exit 4; fi
        exec cat -- "$1"
        """;

    /// <summary>$1 the path, $2 where to keep the original ("" for no backup); the content on standard input.</summary>
    private const string WriteProgram = Kind + """
        t=$(readlink -f -- "$1" 2>/dev/null) && [ -n "$t" ] || t=$1
        if [ -e "$t" ] && [ ! -f "$t" ]; then kind "$t" >&2; exit 4; fi
        d=$(dirname -- "$t") && mkdir -p -- "$d" || exit 1
        tmp="$d/.$(basename -- "$t").overlayctl-$$.tmp"
        trap 'rm -f -- "$tmp"' EXIT
        trap 'exit 1' HUP INT TERM
        if [ -n "$2" ] && [ ! -e "$2" ] && [ ! -L "$2" ]; then
          if [ -f "$t" ]; then cp -p -- "$t" "$2" || exit 1; else : > "$2" || exit 1; fi
        fi
        if [ -f "$t" ]; then cp -p -- "$t" "$tmp" || exit 1; fi
        cat > "$tmp" && mv -f -- "$tmp" "$t"
        """;

    /// <summary>The command <see cref="ReadAsync"/> runs: what an observation batches with its other reads (<see cref="CommandBatch"/>).</summary>
    public static CommandSpec ReadCommand(string path) => Program(ReadProgram, [HostCommands.CheckedPath(path)], null);

    /// <summary>The file's content; null when it does not exist.</summary>
    public static async Task<string?> ReadAsync(IHostRunner runner, string path, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(ReadCommand(path), cancellationToken).ConfigureAwait(false);
        return result.ExitCode switch
        {
            0 => result.StandardOutput,
            3 => null,
            _ => throw Refusal(runner, path, "read", result),
        };
    }

    /// <summary>
    /// <see cref="ReadAsync"/> without a process, for a host this process runs on (an agent): the same answers,
    /// null when absent (a dangling link too), the same refusal of anything but a regular file, checked before opening.
    /// </summary>
    public static async Task<string?> ReadHereAsync(string hostName, string path, CancellationToken cancellationToken)
    {
        if (RegularFile.Check(HostCommands.CheckedPath(path)) is { } why)
        {
            if (why.StartsWith("no such file", StringComparison.Ordinal)) return null;
            throw why.StartsWith("is ", StringComparison.Ordinal) && why.Contains("not a regular file", StringComparison.Ordinal)
                ? new HostFileException($"{hostName}: {path} {why}, and cannot be read (fix: {NotRegularFix})")
                : new HostFileException($"{hostName}: {path} cannot be read: {why} (fix: {UnreadableFix})");
        }
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HostFileException($"{hostName}: {path} cannot be read: {e.Message} (fix: {UnreadableFix})");
        }
    }

    private const string NotRegularFix = "make it a regular file, or name another path in the spec; overlayctl never opens anything else, which could block it forever";
    private const string UnreadableFix = "correct the file or its directory, e.g. chattr -i for an immutable file, then run again; the file was left as it was";

    /// <summary>Writes <paramref name="content"/> into the file (through a link), keeping its mode and owner and, once, the original as <paramref name="backup"/>.</summary>
    public static async Task WriteAsync(IHostRunner runner, string path, string content, string? backup, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(Program(WriteProgram, [HostCommands.CheckedPath(path), backup is null ? "" : HostCommands.CheckedPath(backup)], content), cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw Refusal(runner, path, "written", result);
    }

    public static Task DeleteAsync(IHostRunner runner, string path, CancellationToken cancellationToken) =>
        runner.MustAsync(CommandSpec.Of("rm", "-f", "--", HostCommands.CheckedPath(path)), cancellationToken);

    private static CommandSpec Program(string program, IReadOnlyList<string> arguments, string? stdin) => new("sh", ["-c", program, "sh", .. arguments], stdin);

    private static HostFileException Refusal(IHostRunner runner, string path, string verb, CommandResult result)
    {
        var why = result.StandardError.Trim();
        return result.ExitCode == 4
            ? new HostFileException($"{runner.HostName}: {path} is {why}, not a regular file, and cannot be {verb} (fix: {NotRegularFix})")
            : new HostFileException($"{runner.HostName}: {path} cannot be {verb}: {(why.Length == 0 ? $"exit {result.ExitCode}" : why)} (fix: {UnreadableFix})");
    }
}
