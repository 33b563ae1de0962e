using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Planning;

/// <summary>
/// overlayctl's iptables: its own chains, entered by comment-tagged jumps, written exactly as
/// iptables-save prints them so observed and desired compare line by line. Foreign rules are never touched.
/// </summary>
public static class IptablesRules
{
    public const string ForwardChain = "OVERLAYCTL-FWD";
    public const string MasqueradeChain = "OVERLAYCTL-POSTRTG";
    public const string Comment = "overlayctl";

    /// <summary>(table, parent chain, our chain)</summary>
    public static readonly IReadOnlyList<(string Table, string Parent, string Chain)> Chains =
        [("filter", "FORWARD", ForwardChain), ("nat", "POSTROUTING", MasqueradeChain)];

    public static string Jump(string parent, string chain) => $"-A {parent} -m comment --comment {Comment} -j {chain}";

    public static IReadOnlyList<string> ForwardRules(Ipv4Cidr network) =>
    [
        $"-A {ForwardChain} -s {network} -j ACCEPT",
        $"-A {ForwardChain} -d {network} -j ACCEPT",
    ];

    /// <summary>flannel's masquerade set: nothing inside the overlay is rewritten, traffic leaving it is.</summary>
    public static IReadOnlyList<string> MasqueradeRules(Ipv4Cidr network, Ipv4Cidr subnet) =>
    [
        $"-A {MasqueradeChain} -s {subnet} -d {network} -j RETURN",
        $"-A {MasqueradeChain} -s {network} -d {subnet} -j RETURN",
        $"-A {MasqueradeChain} ! -s {network} -d {subnet} -j RETURN",
        $"-A {MasqueradeChain} -s {network} ! -d 224.0.0.0/4 -j MASQUERADE --random-fully",
        $"-A {MasqueradeChain} ! -s {network} -d {network} -j MASQUERADE --random-fully",
    ];

    /// <summary>flannel's IPv6 forward rules: the same two, for the IPv6 overlay.</summary>
    public static IReadOnlyList<string> ForwardRules6(System.Net.IPNetwork network) =>
    [
        $"-A {ForwardChain} -s {network} -j ACCEPT",
        $"-A {ForwardChain} -d {network} -j ACCEPT",
    ];

    /// <summary>flannel's IPv6 masquerade set: as IPv4's, with multicast being ff00::/8.</summary>
    public static IReadOnlyList<string> MasqueradeRules6(System.Net.IPNetwork network, System.Net.IPNetwork subnet) =>
    [
        $"-A {MasqueradeChain} -s {subnet} -d {network} -j RETURN",
        $"-A {MasqueradeChain} -s {network} -d {subnet} -j RETURN",
        $"-A {MasqueradeChain} ! -s {network} -d {subnet} -j RETURN",
        $"-A {MasqueradeChain} -s {network} ! -d ff00::/8 -j MASQUERADE --random-fully",
        $"-A {MasqueradeChain} ! -s {network} -d {network} -j MASQUERADE --random-fully",
    ];

    /// <summary>Operations making one chain hold exactly <paramref name="rules"/>, jumped to from its parent; <paramref name="ipv6"/>: in ip6tables.</summary>
    public static IEnumerable<Operation> Converge(IptablesState observed, string table, string parent, string chain, IReadOnlyList<string> rules, bool ipv6 = false)
    {
        var t = observed.Table(table);
        var exists = t.Chains.ContainsKey(chain);
        if (!exists || !t.RulesOf(chain).SequenceEqual(rules, StringComparer.Ordinal))
        {
            var lines = new List<string> { $":{chain} - [0:0]" };
            if (exists) lines.Add($"-F {chain}");
            lines.AddRange(rules);
            yield return new Operation(exists ? ChangeKind.Change : ChangeKind.Add, ResourceAddress.IptablesChain(table, chain, ipv6), new IptablesStep(table, lines, ipv6));
        }
        if (ConvergeJump(t, table, parent, chain, ipv6) is { } jump) yield return jump;
    }

    /// <summary>
    /// Exactly one jump to our chain, with no DROP or REJECT ahead of it in the parent. Two applies racing
    /// on a host once left several identical jumps, which nothing reported; a rule inserted above ours
    /// that drops (an operator's, a firewall's) silently overrides the overlay. Either is drift: every jump
    /// to our chain is deleted and one is inserted at the top.
    /// </summary>
    private static Operation? ConvergeJump(IptablesTable observed, string table, string parent, string chain, bool ipv6)
    {
        var rules = observed.RulesOf(parent).ToList();
        var ours = rules.Where(r => r.EndsWith($"-j {chain}", StringComparison.Ordinal)).ToList();
        var first = rules.FindIndex(r => r.EndsWith($"-j {chain}", StringComparison.Ordinal));
        var dropsAhead = first > 0 && rules.Take(first).Any(Drops);
        if (ours.Count == 1 && ours[0] == Jump(parent, chain) && !dropsAhead) return null;
        var lines = ours.Select(j => "-D" + j[2..]).Append($"-I {parent} 1 -m comment --comment {Comment} -j {chain}").ToList();
        var operation = new Operation(ours.Count == 0 ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.IptablesJump(table, parent, ipv6), new IptablesStep(table, lines, ipv6));
        if (ours.Count == 0) return operation;
        var now = ours.Count > 1 ? $"{ours.Count} jumps"
            : dropsAhead ? $"below '{rules.Take(first).First(Drops)}'"
            : $"'{ours[0]}'";
        return operation.Shows(now, "one jump, first in " + parent);
    }

    /// <summary>Whether a rule, as iptables-save prints it, drops or rejects what it matches.</summary>
    public static bool Drops(string rule) => rule.EndsWith("-j DROP", StringComparison.Ordinal) || rule.Contains("-j REJECT", StringComparison.Ordinal);

    /// <summary>Operations removing one of our chains and every jump to it.</summary>
    public static IEnumerable<Operation> Remove(IptablesState observed, string table, string parent, string chain, bool ipv6 = false)
    {
        var t = observed.Table(table);
        var jumps = t.RulesOf(parent).Where(r => r.EndsWith($"-j {chain}", StringComparison.Ordinal)).ToList();
        if (jumps.Count == 0 && !t.Chains.ContainsKey(chain)) yield break;
        var lines = jumps.Select(j => "-D" + j[2..]).ToList();
        if (t.Chains.ContainsKey(chain)) lines.AddRange([$"-F {chain}", $"-X {chain}"]);
        yield return new Operation(ChangeKind.Remove, ResourceAddress.IptablesChain(table, chain, ipv6), new IptablesStep(table, lines, ipv6));
    }
}
