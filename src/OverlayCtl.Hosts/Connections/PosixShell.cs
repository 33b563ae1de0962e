namespace OverlayCtl.Hosts.Connections;

/// <summary>
/// The one place overlayctl quotes for a shell: ssh hands the remote side a single string, which
/// the remote login shell splits. Every argument is single-quoted, so nothing in it is special.
/// </summary>
public static class PosixShell
{
    public static string Quote(IEnumerable<string> argv) => string.Join(' ', argv.Select(QuoteOne));

    public static string QuoteOne(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Contains('\0', StringComparison.Ordinal)) throw new ArgumentException("a NUL byte cannot be passed to a program", nameof(argument));
        return "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
