using System.CommandLine;
using System.CommandLine.Parsing;

namespace OverlayCtl.Cli;

/// <summary>
/// A command line that does not parse, told in one line with the cause and the nearest name, as git
/// does (<c>'plna' is not a command; did you mean 'plan'?</c>), instead of the parser's several
/// errors followed by the whole help, which bury the one thing to fix. Exit 1: bad input.
/// </summary>
internal static class UsageErrors
{
    private const string Prefix = "overlayctl: ";

    /// <summary>Prints the parse errors of <paramref name="parse"/> (one line each, usually one) and returns exit 1.</summary>
    public static int Report(ParseResult parse, TextWriter stderr)
    {
        foreach (var line in Lines(parse)) stderr.WriteLine(line);
        stderr.Flush();
        return ExitCodes.Error;
    }

    /// <summary>What is wrong, most useful first: the first token not understood, else the parser's own errors.</summary>
    internal static IReadOnlyList<string> Lines(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var path = PathOf(parse.CommandResult);
        // A mistyped option eats the word after it too ('--limt x'): the first token not understood is the one to fix.
        if (parse.UnmatchedTokens.FirstOrDefault() is { } token)
        {
            if (token.StartsWith('-'))
                return [$"{path}: unknown option '{token}' ({Hint(token, OptionNames(parse.CommandResult))}{path} --help lists the options)"];
            if (command.Subcommands.Count > 0)
                return [$"{path}: unknown command '{token}' ({Hint(token, command.Subcommands.Select(c => c.Name))}{path} --help lists the commands)"];
            return [$"{path}: unexpected argument '{token}' ({path} --help shows the usage)"];
        }
        if (command.Subcommands.Count > 0 && command.Action is null)
            return [$"{path}: a command is needed: {string.Join(", ", command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))} ({path} --help explains them)"];
        return parse.Errors.Select(e => e.Message).Distinct(StringComparer.Ordinal)
            .Select(m => Prefix + (m.Contains("(fix:", StringComparison.Ordinal) ? m : $"{m} (fix: see {path} --help)")).ToList();
    }

    private static string Hint(string typed, IEnumerable<string> names) => Suggest(typed, names) is { Count: > 0 } best
        ? $"did you mean {string.Join(" or ", best.Select(b => $"'{b}'"))}? "
        : "";

    /// <summary>
    /// The names nearest to <paramref name="typed"/>: those it begins, else those within a few typos
    /// (optimal string alignment distance, so a swapped pair such as 'plna' is one typo).
    /// </summary>
    internal static IReadOnlyList<string> Suggest(string typed, IEnumerable<string> names)
    {
        var all = names.Distinct(StringComparer.Ordinal).ToList();
        var bare = typed.TrimStart('-');
        if (bare.Length >= 2)
        {
            var prefixed = all.Where(n => n.TrimStart('-').StartsWith(bare, StringComparison.Ordinal) && n.StartsWith(typed[..(typed.Length - bare.Length)], StringComparison.Ordinal)).ToList();
            if (prefixed.Count is > 0 and <= 3) return prefixed;
        }
        var limit = Math.Max(1, (bare.Length + 2) / 3);
        var scored = all.Select(n => (Name: n, Distance: Distance(typed, n))).Where(s => s.Distance <= limit).ToList();
        if (scored.Count == 0) return [];
        var best = scored.Min(s => s.Distance);
        return scored.Where(s => s.Distance == best).Select(s => s.Name).ToList();
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>The options a command accepts: its own and the recursive ones of the commands above it.</summary>
    private static IEnumerable<string> OptionNames(CommandResult result)
    {
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
        {
            foreach (var option in c.Command.Options.Where(o => ReferenceEquals(c, result) || o.Recursive).Where(o => !o.Hidden))
            {
                yield return option.Name;
                foreach (var alias in option.Aliases) yield return alias;
            }
        }
    }

    /// <summary>"overlayctl leases list": the command as typed, whatever the executable is called ("overlayctl" alone for the root).</summary>
    private static string PathOf(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent) names.Insert(0, c.Command.Name);
        names[0] = "overlayctl";
        return string.Join(' ', names);
    }
}
