using System.CommandLine;
using System.CommandLine.Help;

namespace OverlayCtl.Cli.Completion;

/// <summary>
/// What the shell may complete, from the command tree itself, so completion offers exactly the commands and flags
/// that exist (the scripts hold no list of their own). Pure: the spec's host names come through a function the
/// caller gives, and nothing here reaches etcd or a host.
/// </summary>
internal static class Completer
{
    /// <summary>The answer meaning "complete a file name here": the shell does that better than overlayctl could.</summary>
    public const string Files = ":files";

    /// <param name="root">the command tree</param>
    /// <param name="words">the words after "overlayctl", the last being the one under the cursor ("" after a space)</param>
    /// <param name="hostsOf">the host names of the spec that -f names (null: no -f), or none when it cannot be read</param>
    public static IReadOnlyList<string> Complete(Command root, IReadOnlyList<string> words, Func<string?, IEnumerable<string>> hostsOf)
    {
        var current = words.Count == 0 ? "" : words[^1];
        var path = new List<Command> { root };
        string? spec = null;
        Option? pending = null;
        var positional = 0;
        foreach (var word in words.Take(words.Count - 1))
        {
            if (pending is not null)
            {
                if (IsSpec(pending)) spec = word;
                pending = null;
                continue;
            }
            if (word.StartsWith('-') && word.Length > 1)
            {
                var equals = word.IndexOf('=', StringComparison.Ordinal);
                var option = Find(path, equals < 0 ? word : word[..equals]);
                if (option is not null && TakesValue(option))
                {
                    if (equals < 0) pending = option;
                    else if (IsSpec(option)) spec = word[(equals + 1)..];
                }
                continue;
            }
            var sub = positional == 0 ? Visible(path[^1].Subcommands).FirstOrDefault(c => c.Name == word || c.Aliases.Contains(word)) : null;
            if (sub is not null) path.Add(sub);
            else positional++;
        }
        if (pending is not null) return ValuesOf(pending, current, () => hostsOf(spec));
        if (current.StartsWith('-'))
        {
            var equals = current.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && Find(path, current[..equals]) is { } option && TakesValue(option))
            {
                var values = ValuesOf(option, current[(equals + 1)..], () => hostsOf(spec));
                return values is [Files] ? values : [.. values.Select(v => current[..(equals + 1)] + v)];
            }
            return [.. OptionNames(path).Where(n => n.StartsWith(current, StringComparison.Ordinal))];
        }
        var command = path[^1];
        var candidates = positional == 0 ? Visible(command.Subcommands).Select(c => c.Name).ToList() : [];
        if (command.Arguments.ElementAtOrDefault(positional) is { } argument && !argument.Hidden)
        {
            if (argument.Name == "HOST") candidates.AddRange(hostsOf(spec));
            else if (argument.Name is "PLAN" or "FILE") return [Files];
            else candidates.AddRange(argument.GetCompletions(System.CommandLine.Completions.CompletionContext.Empty).Select(c => c.Label));
        }
        return [.. candidates.Where(c => c.StartsWith(current, StringComparison.Ordinal)).Distinct()];
    }

    /// <summary>The value of an option: a file, host names (a comma-separated list for --limit), or the choices its help names.</summary>
    private static IReadOnlyList<string> ValuesOf(Option option, string current, Func<IEnumerable<string>> hosts)
    {
        if (option.HelpName is "FILE" or "SPEC" or "PLAN" || IsSpec(option)) return [Files];
        if (option.Name == "--limit")
        {
            var comma = current.LastIndexOf(',');
            var before = comma < 0 ? "" : current[..(comma + 1)];
            var taken = before.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            return [.. hosts().Where(h => !taken.Contains(h)).Select(h => before + h).Where(c => c.StartsWith(current, StringComparison.Ordinal))];
        }
        if (option.Name == "--host") return [.. hosts().Where(h => h.StartsWith(current, StringComparison.Ordinal))];
        // "table|wide|json|yaml": the help's own list of choices.
        if (option.HelpName is { } name && name.Contains('|', StringComparison.Ordinal))
            return [.. name.Split('|').Where(c => c.StartsWith(current, StringComparison.Ordinal))];
        return [];
    }

    private static bool IsSpec(Option option) => option.Name == "--file";

    private static bool TakesValue(Option option) => option.Arity.MinimumNumberOfValues > 0;

    /// <summary>An option the command at the end of <paramref name="path"/> accepts: its own, or a recursive one of a command above it.</summary>
    private static Option? Find(List<Command> path, string name) =>
        Options(path).FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name));

    private static IEnumerable<Option> Options(List<Command> path) =>
        path[^1].Options.Concat(path.Take(path.Count - 1).SelectMany(c => c.Options.Where(o => o.Recursive))).Where(o => !o.Hidden);

    /// <summary>The long names (and short ones without a long form), help last, as a person scans them.</summary>
    private static IEnumerable<string> OptionNames(List<Command> path) =>
        Options(path).OrderBy(o => o is HelpOption).Select(o => o.Name).Distinct();

    private static IEnumerable<Command> Visible(IEnumerable<Command> commands) => commands.Where(c => !c.Hidden);
}
