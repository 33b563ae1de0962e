using System.Runtime.CompilerServices;
using static OverlayCtl.Hosts.Observe.Netlink.AttributeValues;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>
/// The kernel's notifications of IPv4 rule changes (nftables, which iptables drives on this machine's
/// kind of host), and on a dual-stack host of IPv6 ones (ip6tables), read in process instead of from an
/// <c>xtables-monitor -e</c> child. Each becomes a line in xtables-monitor's shape without the rule's text:
/// <c> EVENT: -4 -t nat -A|-D CHAIN</c> for a rule (<c>-6</c> for ip6tables), <c>-N|-X CHAIN</c> for a chain,
/// <c> EVENT: nft: NEW|DEL table: table NAME ip|ip6</c> for a table, so
/// <see cref="KernelMonitor.IsRelevant"/> judges them as it judges xtables-monitor's. Hosts on the legacy
/// iptables kernel interface send no such notifications: there the periodic resync repairs rule drift.
/// </summary>
public static class NftablesMonitor
{
    private const int NFNLGRP_NFTABLES = 7;
    private const int NFNL_SUBSYS_NFTABLES = 10;
    private const byte NFPROTO_IPV4 = 2;
    private const byte NFPROTO_IPV6 = 10;
    private const int NFT_MSG_NEWTABLE = 0;
    private const int NFT_MSG_DELTABLE = 2;
    private const int NFT_MSG_NEWCHAIN = 3;
    private const int NFT_MSG_DELCHAIN = 5;
    private const int NFT_MSG_NEWRULE = 6;
    private const int NFT_MSG_DELRULE = 8;
    private const int NFTA_RULE_TABLE = 1; // also NFTA_CHAIN_TABLE and NFTA_TABLE_NAME
    private const int NFTA_CHAIN_NAME = 3;
    private const int NFTA_RULE_CHAIN = 2;

    /// <summary>
    /// Lines until cancelled, for this process's namespace (<paramref name="netnsName"/> null) or
    /// <c>/run/netns/NAME</c>; <see cref="NetlinkSocket.Overrun"/> when notifications were lost. IPv4 tables only,
    /// and with <paramref name="ipv6"/> (a dual-stack host) ip6tables' too.
    /// </summary>
    public static async IAsyncEnumerable<string> WatchAsync(string? netnsName, [EnumeratorCancellation] CancellationToken cancellationToken, bool ipv6 = false)
    {
        using var socket = NetlinkSocket.Open(netnsName, 1 << (NFNLGRP_NFTABLES - 1), NetlinkSocket.Native.NETLINK_NETFILTER);
        await foreach (var line in socket.NotificationsAsync((type, payload) => Format(type, payload, ipv6), cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>The line for one nftables notification; null for other families and for what iptables does not show (sets, generations).</summary>
    internal static string? Format(ushort type, ReadOnlySpan<byte> payload, bool ipv6 = false)
    {
        // struct nfgenmsg: family, version, resource id; then the attributes.
        if (type >> 8 != NFNL_SUBSYS_NFTABLES || payload.Length < 4 || !(payload[0] == NFPROTO_IPV4 || (ipv6 && payload[0] == NFPROTO_IPV6))) return null;
        var (option, family) = payload[0] == NFPROTO_IPV4 ? ("-4", "ip") : ("-6", "ip6");
        Span<int> slots = stackalloc int[16];
        var attributes = new Attributes(payload[4..], slots);
        // Rules and chains name their table first; a rule its chain second, a chain its own name third.
        var table = attributes.TryGet(NFTA_RULE_TABLE, out var t) ? Text(t) : null;
        var message = type & 0xFF;
        var chain = message switch
        {
            NFT_MSG_NEWRULE or NFT_MSG_DELRULE => attributes.TryGet(NFTA_RULE_CHAIN, out var c) ? Text(c) : null,
            NFT_MSG_NEWCHAIN or NFT_MSG_DELCHAIN => attributes.TryGet(NFTA_CHAIN_NAME, out var c) ? Text(c) : null,
            _ => null,
        };
        if (table is null) return null;
        return message switch
        {
            NFT_MSG_NEWRULE or NFT_MSG_DELRULE when chain is not null => $" EVENT: {option} -t {table} {(message == NFT_MSG_NEWRULE ? "-A" : "-D")} {chain}",
            NFT_MSG_NEWCHAIN or NFT_MSG_DELCHAIN when chain is not null => $" EVENT: {option} -t {table} {(message == NFT_MSG_NEWCHAIN ? "-N" : "-X")} {chain}",
            NFT_MSG_NEWTABLE or NFT_MSG_DELTABLE => $" EVENT: nft: {(message == NFT_MSG_NEWTABLE ? "NEW" : "DEL")} table: table {table} {family}",
            _ => null,
        };
    }
}
