using System.Globalization;
using System.Security.Cryptography;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// A host where every process costs a round trip (ssh: about 0.15 s over a reused connection, against milliseconds
/// for a local process): a reader runs its fixed set of reads there as one <see cref="CommandBatch"/>.
/// </summary>
public interface IRoundTripHost;

/// <summary>
/// Several argument lists run by one process on a host, one after another, each as it would run alone: one fixed
/// POSIX sh program (<see cref="Program"/>) whose arguments are a per-run marker, then each command as its argument
/// count followed by its arguments. The program text never changes and no value is ever parsed by a shell: the
/// commands are rebuilt from the positional parameters by <c>eval</c> of their indexes alone (<c>"${5}" "${6}"</c>).
/// After each command its exit code follows the marker on standard output and on standard error, so both split
/// back into one <see cref="CommandResult"/> per command. The marker is random per batch, so no output can end a
/// section early by chance. Commands get no standard input.
/// </summary>
public static class CommandBatch
{
    /// <summary>$1 the marker; then, per command, N and its N words.</summary>
    public const string Program = """
        m=$1
        i=2
        while [ "$i" -le "$#" ]; do
          eval "n=\${$i}"
          i=$((i + 1))
          a=
          j=0
          while [ "$j" -lt "$n" ]; do a="$a \"\${$((i + j))}\""; j=$((j + 1)); done
          i=$((i + n))
          eval "$a" </dev/null
          r=$?
          printf '\n%s %s\n' "$m" "$r"
          printf '\n%s %s\n' "$m" "$r" >&2
        done
        """;

    /// <summary>The one command that runs <paramref name="commands"/> (none may carry standard input).</summary>
    public static CommandSpec Of(IReadOnlyList<CommandSpec> commands, string marker)
    {
        var args = new List<string> { "-c", Program, "sh", marker };
        foreach (var command in commands)
        {
            if (command.StandardInput is not null || command.InputFile is not null)
                throw new ArgumentException($"`{command}` reads standard input, which a batch does not give", nameof(commands));
            args.Add((command.Arguments.Count + 1).ToString(CultureInfo.InvariantCulture));
            args.Add(command.Program);
            args.AddRange(command.Arguments);
        }
        return new CommandSpec("sh", args);
    }

    /// <summary>A marker no output holds by chance.</summary>
    public static string NewMarker() => "--overlayctl-batch-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// Each command's result. A command the batch never finished (the connection failed, or the batch was killed)
    /// gets the batch's own exit code and what it printed on standard error: an ssh that could not connect is
    /// reported for every command, as it would have been for each alone.
    /// </summary>
    public static IReadOnlyList<CommandResult> Split(CommandResult whole, string marker, int count)
    {
        var outs = Sections(whole.StandardOutput, marker);
        var errs = Sections(whole.StandardError, marker);
        var results = new List<CommandResult>(count);
        for (var i = 0; i < count; i++)
        {
            if (i < outs.Count && i < errs.Count) results.Add(new CommandResult(outs[i].Code, outs[i].Text, errs[i].Text));
            else results.Add(new CommandResult(whole.ExitCode == 0 ? 255 : whole.ExitCode, "",
                i < errs.Count ? "" : errs.Count == 0 ? whole.StandardError : Rest(whole.StandardError, marker)));
        }
        return results;
    }

    /// <summary>Runs the commands in one process on the host and splits the results.</summary>
    public static async Task<IReadOnlyList<CommandResult>> RunAsync(IHostRunner runner, IReadOnlyList<CommandSpec> commands, CancellationToken cancellationToken)
    {
        if (commands.Count == 0) return [];
        var marker = NewMarker();
        var whole = await runner.RunAsync(Of(commands, marker), cancellationToken).ConfigureAwait(false);
        return Split(whole, marker, commands.Count);
    }

    /// <summary>The finished sections: the text before each "\nMARKER CODE\n" and the code.</summary>
    private static List<(string Text, int Code)> Sections(string text, string marker)
    {
        var result = new List<(string, int)>();
        var separator = "\n" + marker + " ";
        var start = 0;
        while (true)
        {
            var at = text.IndexOf(separator, start, StringComparison.Ordinal);
            if (at < 0) return result;
            var end = text.IndexOf('\n', at + separator.Length);
            if (end < 0 || !int.TryParse(text.AsSpan(at + separator.Length, end - at - separator.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var code)) return result;
            result.Add((text[start..at], code));
            start = end + 1;
        }
    }

    /// <summary>What standard error holds after the last finished section.</summary>
    private static string Rest(string text, string marker)
    {
        var at = text.LastIndexOf("\n" + marker + " ", StringComparison.Ordinal);
        var end = at < 0 ? -1 : text.IndexOf('\n', at + 1);
        return end < 0 ? text : text[(end + 1)..];
    }
}

/// <summary>
/// A host's runner with some commands' results already read (by one <see cref="CommandBatch"/>): each is answered
/// from what was read whenever it is asked for (one observation reads the host at one moment, so a second reader of the
/// same table gets the same answer), and everything else runs on the host as usual. How a
/// reader that runs many small commands concurrently observes an <see cref="IRoundTripHost"/> in one round trip
/// without changing how it reads.
/// </summary>
public sealed class PrefetchedHost : IHostRunner
{
    private readonly IHostRunner _inner;
    private readonly Dictionary<string, CommandResult> _read;

    private PrefetchedHost(IHostRunner inner, Dictionary<string, CommandResult> read)
    {
        _inner = inner;
        _read = read;
    }

    /// <summary>Runs <paramref name="commands"/> on the host in one batch; the runner answers them from it.</summary>
    public static async Task<PrefetchedHost> ReadAsync(IHostRunner runner, IReadOnlyList<CommandSpec> commands, CancellationToken cancellationToken)
    {
        var distinct = commands.DistinctBy(Key).ToList();
        var results = await CommandBatch.RunAsync(runner, distinct, cancellationToken).ConfigureAwait(false);
        return new PrefetchedHost(runner, distinct.Zip(results).ToDictionary(p => Key(p.First), p => p.Second, StringComparer.Ordinal));
    }

    public string HostName => _inner.HostName;

    public Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken)
    {
        if (command.StandardInput is null && command.InputFile is null && _read.TryGetValue(Key(command), out var result))
            return Task.FromResult(result);
        return _inner.RunAsync(command, cancellationToken);
    }

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => HostFiles.ReadAsync(this, path, cancellationToken);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken) => _inner.WriteFileAsync(path, content, backup, cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) => _inner.DeleteFileAsync(path, cancellationToken);

    private static string Key(CommandSpec command) => string.Join('\0', [command.Program, .. command.Arguments]);
}
