namespace OverlayCtl.Core.Spec;

/// <summary>
/// <c>--limit</c> as ansible reads it: comma-separated patterns over the spec's host names. A pattern is a name or a
/// glob (<c>*</c>, <c>?</c>, <c>[1-3]</c>, <c>[!2]</c>); <c>!PATTERN</c> leaves hosts out and <c>&amp;PATTERN</c> keeps only
/// hosts it matches too. The selection is the union of the plain patterns (every host when there are none), then
/// each <c>&amp;</c>, then each <c>!</c>, in the spec's order. A pattern that matches no host is an error naming it: a
/// typo must never widen or narrow a run in silence (<c>!nod2</c> would otherwise leave node2 in).
/// </summary>
public static class HostPatterns
{
    /// <summary>The patterns of a <c>--limit</c> value or of a limit file's text: split at commas and line ends, blanks and <c>#</c> comment lines dropped.</summary>
    public static IReadOnlyList<string> Split(string text) =>
        text.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .SelectMany(line => line.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();

    /// <summary>The names <paramref name="patterns"/> select from <paramref name="hosts"/>, in that order.</summary>
    /// <param name="hosts">The spec's host names, in its order.</param>
    /// <param name="patterns">What <see cref="Split"/> made of the limit.</param>
    /// <param name="source">What the hosts are, for the error (the spec's path).</param>
    /// <param name="flag">What the patterns came from, for the error (<c>--limit</c>).</param>
    public static IReadOnlyList<string> Select(IReadOnlyList<string> hosts, IReadOnlyList<string> patterns, string source, string flag = "--limit")
    {
        var parsed = patterns.Select(p => p.StartsWith('!') || p.StartsWith('&') ? (Text: p, Kind: p[0], Glob: p[1..]) : (Text: p, Kind: '+', Glob: p)).ToList();
        var plain = parsed.Where(p => p.Kind == '+').Select(p => p.Glob).ToList();
        var within = parsed.Where(p => p.Kind == '&').Select(p => p.Glob).ToList();
        var without = parsed.Where(p => p.Kind == '!').Select(p => p.Glob).ToList();
        var unmatched = parsed.Where(p => !hosts.Any(h => Matches(p.Glob, h))).Select(p => p.Text).Distinct(StringComparer.Ordinal).ToList();
        if (unmatched.Count > 0)
            throw new InputException($"{flag}: {string.Join(", ", unmatched.Select(p => $"'{p}'"))} {(unmatched.Count == 1 ? "matches" : "match")} no host in {source} "
                + $"(known: {string.Join(", ", hosts)}) (fix: name spec hosts, or patterns matching them such as node[1-3], web-*, !node2)");
        var selected = hosts.Where(h => (plain.Count == 0 || plain.Any(p => Matches(p, h)))
            && within.All(p => Matches(p, h)) && !without.Any(p => Matches(p, h))).ToList();
        if (selected.Count == 0)
            throw new InputException($"{flag} {string.Join(',', patterns)} leaves no host of {source} (fix: drop an exclusion or an &-pattern)");
        return selected;
    }

    /// <summary>Whether a glob matches a whole name: <c>*</c> any run, <c>?</c> one character, <c>[a-c]</c>/<c>[!a-c]</c> a set; anything else itself.</summary>
    public static bool Matches(string pattern, string name) => Match(pattern, 0, name, 0);

    private static bool Match(string p, int pi, string s, int si)
    {
        while (pi < p.Length)
        {
            switch (p[pi])
            {
                case '*':
                    for (var k = si; k <= s.Length; k++)
                        if (Match(p, pi + 1, s, k)) return true;
                    return false;
                case '?':
                    if (si >= s.Length) return false;
                    pi++;
                    si++;
                    break;
                case '[' when pi + 2 <= p.Length && p.IndexOf(']', pi + 2) is var close && close > 0:
                    if (si >= s.Length || !InSet(p[(pi + 1)..close], s[si])) return false;
                    pi = close + 1;
                    si++;
                    break;
                default:
                    if (si >= s.Length || p[pi] != s[si]) return false;
                    pi++;
                    si++;
                    break;
            }
        }
        return si == s.Length;
    }

    /// <summary>A bracket set's body: <c>!</c> or <c>^</c> first negates; <c>a-c</c> is a range.</summary>
    private static bool InSet(string set, char c)
    {
        var negate = set.Length > 1 && set[0] is '!' or '^';
        var body = negate ? set[1..] : set;
        var found = false;
        for (var i = 0; i < body.Length; i++)
        {
            if (i + 2 < body.Length && body[i + 1] == '-')
            {
                found |= c >= body[i] && c <= body[i + 2];
                i += 2;
            }
            else found |= c == body[i];
        }
        return found != negate;
    }
}
