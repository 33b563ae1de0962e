namespace OverlayCtl.Core.Hosts;

/// <summary>
/// A program and its argument vector. There is deliberately no shell form: arguments reach
/// <c>execve</c> as they are, and <see cref="ToString"/> only renders them for people.
/// <see cref="SecretInput"/> marks standard input that must never be logged (a private key): logs
/// and the audit file say only how many bytes it had.
/// </summary>
public sealed record CommandSpec(string Program, IReadOnlyList<string> Arguments, string? StandardInput = null, bool SecretInput = false)
{
    /// <summary>
    /// A local file whose bytes are standard input, instead of <see cref="StandardInput"/>: how a binary
    /// (the native overlayctl, which text would corrupt) reaches a host on any connection.
    /// </summary>
    public string? InputFile { get; init; }

    public static CommandSpec Of(string program, params string[] arguments) => new(program, arguments);

    public override string ToString() => string.Join(' ', new[] { Program }.Concat(Arguments).Select(Render));

    private static string Render(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=,@+%".Contains(c, StringComparison.Ordinal))
            ? arg
            : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>What a finished command left behind.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>A command that ran and failed; the message names the host, the command and its stderr.</summary>
public sealed class CommandFailedException(string host, CommandSpec command, CommandResult result)
    : Exception($"{host}: `{command}` exited {result.ExitCode}: {result.StandardError.Trim()}")
{
    public string Host { get; } = host;
    public CommandSpec Command { get; } = command;
    public CommandResult Result { get; } = result;
}
