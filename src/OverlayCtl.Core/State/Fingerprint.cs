using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Core.State;

/// <summary>
/// A digest of what a saved plan was made from, so <c>apply FILE</c> can tell that etcd or a host changed
/// since. It covers what the planner reads and leaves out what moves by itself on a healthy host:
/// containers' veth ports on a bridge, learned fdb entries, dynamic ARP entries, rules in chains the plan
/// never reads, and the ssh session's address. Order never counts.
/// </summary>
public static class Fingerprint
{
    public static string Of(ObservedHost host)
    {
        var skipped = host.Links.Where(l => l.Kind == "veth" && l.Master is not null).Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var lines = new List<string>();
        lines.AddRange(host.Links.Where(l => !skipped.Contains(l.Name)).Select(l => $"link {l with { Index = 0 }}"));
        lines.AddRange(host.Addresses.Select(a => $"addr {a}"));
        lines.AddRange(host.Routes.Where(r => !skipped.Contains(r.Device ?? "")).Select(r => $"route {r}"));
        lines.AddRange(host.Neighbors.Where(n => n.Permanent).Select(n => $"neigh {n}"));
        lines.AddRange(host.Fdb.Where(f => f.Permanent && !skipped.Contains(f.Device)).Select(f => $"fdb {f}"));
        foreach (var (name, table) in host.Iptables.Tables)
        {
            lines.AddRange(table.Chains.Where(c => c.Value is not null || c.Key.StartsWith("OVERLAYCTL", StringComparison.Ordinal)).Select(c => $"chain {name} {c.Key} {c.Value}"));
            lines.AddRange(table.Rules.Where(r => IptablesRules.Chains.Any(c => r.StartsWith($"-A {c.Parent} ", StringComparison.Ordinal) || r.StartsWith($"-A {c.Chain} ", StringComparison.Ordinal)))
                .Select((r, i) => string.Create(CultureInfo.InvariantCulture, $"rule {name} {i} {r}")));
        }
        lines.Add($"forward {host.IpForward}");
        lines.AddRange(host.Files.Select(f => $"file {f.Key} {(f.Value is null ? "absent" : Digest(f.Value))}"));
        lines.AddRange(host.TxChecksumOffload.Select(o => $"offload {o.Key} {o.Value}"));
        lines.AddRange(host.PublicKeys.Select(k => $"public-key {k.Key} {k.Value ?? "absent"}"));
        foreach (var (name, device) in host.WireGuard)
        {
            // Handshakes move by themselves on a healthy host; what the plan compares does not.
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"wireguard {name} {device.PublicKey} {device.ListenPort}"));
            lines.AddRange(device.Peers.Select(p => string.Create(CultureInfo.InvariantCulture, $"wireguard-peer {name} {p.PublicKey} {p.Endpoint} {string.Join(',', p.AllowedIps)} {p.PersistentKeepalive}")));
        }
        foreach (var bridge in host.Ovs?.Bridges ?? [])
        {
            lines.Add($"ovs-bridge {bridge.Name} {bridge.DatapathType} {Pairs(bridge.ExternalIds)}");
            lines.AddRange(bridge.Ports.Select(p => $"ovs-port {bridge.Name} {p.Name} {p.Type} {p.Mtu} {p.Protected} {Pairs(p.Options)}"));
        }
        return Digest(lines);
    }

    /// <summary>The config, every lease (with its mod revision, so a rewrite counts) and every unreadable key.</summary>
    public static string Of(LeaseSnapshot snapshot) => Digest(
    [
        $"config {snapshot.Config} {snapshot.ConfigProblem}",
        .. snapshot.Leases.Select(l => $"lease {l}"),
        .. snapshot.Unreadable.Select(u => $"unreadable {u}"),
    ]);

    private static string Pairs(IReadOnlyDictionary<string, string> values) =>
        string.Join(',', values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}"));

    private static string Digest(IEnumerable<string> lines) => Digest(string.Join('\n', lines.Order(StringComparer.Ordinal)));

    private static string Digest(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
