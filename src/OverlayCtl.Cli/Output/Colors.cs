namespace OverlayCtl.Cli.Output;

/// <summary>
/// Colour for people at a terminal: a plan's <c>+</c> green, <c>~</c> yellow, <c>-</c> and <c>-/+</c> red
/// (terraform's), and results and states by how good they are. Never for a pipe or a file, and never with
/// <c>--no-color</c> or <c>NO_COLOR</c> (no-color.org), so scripts and logs see plain text.
/// </summary>
internal static class Colors
{
    public const string Green = "32";
    public const string Yellow = "33";
    public const string Red = "31";

    /// <summary>Colour is on only for a terminal, and when neither <c>--no-color</c> nor a non-empty <c>NO_COLOR</c> says no.</summary>
    public static bool Enabled(bool noColorFlag, string? noColorVariable, bool terminal) =>
        terminal && !noColorFlag && string.IsNullOrEmpty(noColorVariable);

    public static string Paint(string text, string? sgr, bool on) => on && sgr is not null ? $"\u001b[{sgr}m{text}\u001b[0m" : text;

    /// <summary>A rendered plan with each operation's line coloured by its sign, and warnings yellow.</summary>
    public static string Plan(string rendered, bool on)
    {
        if (!on) return rendered;
        var lines = rendered.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var body = lines[i].TrimStart(' ');
            var sgr = body switch
            {
                _ when body.StartsWith("+ ", StringComparison.Ordinal) => Green,
                _ when body.StartsWith("~ ", StringComparison.Ordinal) || body.StartsWith("! ", StringComparison.Ordinal) => Yellow,
                _ when body.StartsWith("- ", StringComparison.Ordinal) || body.StartsWith("-/+ ", StringComparison.Ordinal) => Red,
                _ => null,
            };
            if (sgr is not null) lines[i] = lines[i][..^body.Length] + Paint(body, sgr, true);
        }
        return string.Join('\n', lines);
    }

    /// <summary>A recap's or status's word: good green, pending yellow, bad red.</summary>
    public static string? Of(string word) => word switch
    {
        "ok" or "no changes" or "converged" or "up" or "running" => Green,
        "changed" or "to change" or "drift" or "interrupted" or "stopped" => Yellow,
        "failed" or "unknown" or "missing" or "down" or "wrong-mac" => Red,
        _ => null,
    };
}
