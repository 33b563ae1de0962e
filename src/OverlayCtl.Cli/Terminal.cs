namespace OverlayCtl.Cli;

/// <summary>
/// Where a command asks a person before changing hosts. <see cref="Interactive"/> is true only when
/// standard input is a terminal: a script or CI job has no one to answer, so it must say so up front
/// (<c>--auto-approve</c>) instead of hanging on a question.
/// </summary>
internal sealed class Terminal(TextReader input, bool interactive)
{
    /// <summary>The process's own console: interactive unless standard input is redirected.</summary>
    public static Terminal Console => new(System.Console.In, !System.Console.IsInputRedirected);

    /// <summary>No terminal (in-process runs, tests): nothing can be asked.</summary>
    public static Terminal None { get; } = new(TextReader.Null, false);

    public bool Interactive { get; } = interactive;

    /// <summary>One answered line, or null at end of input (Ctrl-D).</summary>
    public string? ReadLine() => input.ReadLine();
}
