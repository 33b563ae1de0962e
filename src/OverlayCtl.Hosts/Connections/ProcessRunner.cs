using System.Diagnostics;
using System.Globalization;
using OverlayCtl.Core.Hosts;
using Serilog;

namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// Starts programs with an argument vector (never a shell), with a timeout that kills the whole
/// process tree, and logs every command and its outcome at debug: the audit trail of what ran.
/// </summary>
public sealed class ProcessRunner(ILogger log, TimeSpan timeout)
{
    private long _spawned;

    /// <summary>Processes started so far (the benchmark's "processes per host").</summary>
    public long Spawned => Interlocked.Read(ref _spawned);

    public TimeSpan Timeout { get; } = timeout;

    public async Task<CommandResult> RunAsync(string host, CommandSpec command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command.Program)
        {
            RedirectStandardInput = command.StandardInput is not null || command.InputFile is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Arguments) start.ArgumentList.Add(argument);
        start.Environment["LC_ALL"] = "C";
        log.Debug("{Host}: run {Command}{Stdin}", host, command.ToString(), command.InputFile is not null ? " < " + command.InputFile : command.StandardInput is null ? "" : " <<< " + Redact(command));
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CommandFailedException(host, command, new CommandResult(127, "", $"cannot start {command.Program}: {e.Message}"));
        }
        Interlocked.Increment(ref _spawned);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        if (command.StandardInput is not null)
        {
            await process.StandardInput.WriteAsync(command.StandardInput).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        else if (command.InputFile is not null)
        {
            await using (var input = File.OpenRead(command.InputFile))
                await input.CopyToAsync(process.StandardInput.BaseStream, cancellationToken).ConfigureAwait(false);
            process.StandardInput.Close();
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw new CommandFailedException(host, command, new CommandResult(124, "", string.Create(CultureInfo.InvariantCulture, $"timed out after {Timeout.TotalSeconds:0.#} s and was killed")));
        }
        var result = new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        log.Debug("{Host}: exit {Code} in {Ms} ms{Err}", host, result.ExitCode, clock.ElapsedMilliseconds,
            result.StandardError.Length == 0 ? "" : ": " + result.StandardError.Trim());
        return result;
    }

    /// <summary>What the log may say of standard input: never a secret's content, nor more than 4 KiB of any.</summary>
    private static string Redact(CommandSpec command) => command.StandardInput! switch
    {
        var s when command.SecretInput => string.Create(CultureInfo.InvariantCulture, $"(secret, {s.Length} bytes)"),
        var s when s.Length <= 4096 => s.Replace('\n', ';'),
        var s => string.Create(CultureInfo.InvariantCulture, $"({s.Length} bytes)"),
    };
}
