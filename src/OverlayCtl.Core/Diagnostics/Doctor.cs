using System.Text.Json;
using System.Text.RegularExpressions;
using OverlayCtl.Core.Backends.Ovs;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Diagnostics;

/// <summary>
/// The failures flannel's users fight, as named checks over a host's observed state: each finding
/// says what is wrong and how to fix it. Pure: every input is a plain value.
/// </summary>
public static partial class Doctor
{
    /// <summary>Every check doctor runs, by name, with what it looks for (docs/commands/doctor.md).</summary>
    public static IReadOnlyList<(string Name, string Looks)> Checks { get; } =
    [
        ("underlay", "the underlay interface exists and holds the host's address"),
        ("ip-forward", "net.ipv4.ip_forward is 1"),
        ("forward-policy", "FORWARD does not drop overlay traffic (policy DROP without our jump, or a DROP/REJECT rule ahead of it)"),
        ("vxlan-port", "INPUT does not drop the VXLAN UDP port"),
        ("mtu", "overlay device MTU fits the underlay (underlay - 50 for VXLAN) and Docker uses the same MTU"),
        ("ovs-underlay", "with the userspace (netdev) OVS datapath, the underlay address is on an OVS bridge (userspace tunnels start nowhere else)"),
        ("vtep-mac", "the VXLAN device's MAC is the one in the lease (peers' fdb entries point at it)"),
        ("peers", "every peer has its neighbour, fdb entry and route (vxlan) or protected tunnel port and route (ovs), pointing at the right addresses"),
        ("docker-bip", "daemon.json's bip is this host's lease gateway"),
        ("docker-masquerade", "no foreign MASQUERADE rule rewrites traffic inside the overlay"),
        ("rp-filter", "strict reverse-path filtering is off on the underlay and overlay devices"),
        ("checksum-offload", "tx checksum offload is off on the VXLAN device (VXLAN behind NAT drops bad checksums)"),
        ("leases", "no lease overlaps another, no address holds two, no lease is held by an address outside the spec"),
    ];

    public static IReadOnlyList<Finding> CheckHost(PlanInput input, HostFacts facts)
    {
        var (spec, host, lease, peers, observed) = (input.Spec, input.Host, input.Lease, input.Peers, input.Observed);
        var findings = new List<Finding>();
        void Add(string check, Severity severity, string problem, string fix) => findings.Add(new Finding(check, host.Name, severity, problem, fix));

        Underlay? underlay = null;
        try
        {
            underlay = Underlay.Find(host, observed);
            if (!observed.AddressesOf(underlay.Interface).Any(a => a.Address == host.Address))
                Add("underlay", Severity.Error, $"{underlay.Interface} does not hold {host.Address}", $"ip addr add {host.Address}/24 dev {underlay.Interface} (or fix address:/interface: in the spec)");
        }
        catch (PlanningException e)
        {
            Add("underlay", Severity.Error, e.Message, "fix the host's underlay interface or the spec's interface:/address:");
        }

        if (observed.IpForward != true)
            Add("ip-forward", Severity.Error, "net.ipv4.ip_forward is 0: the host does not route between the overlay and its containers", "sysctl -w net.ipv4.ip_forward=1 (overlayctl apply sets it)");

        CheckForward(observed, Add);
        CheckVxlanPort(spec, observed, Add);

        // The device that carries overlay traffic: the VXLAN device, or the OVS bridge's interface.
        var device = spec.Network.Backend == BackendKind.Ovs ? spec.Network.Ovs.Bridge : VxlanBackend.DeviceName(spec);
        var tunnel = spec.Network.Backend is BackendKind.Vxlan or BackendKind.Ovs ? observed.FindLink(device) : null;
        var vxlan = spec.Network.Backend == BackendKind.Vxlan ? tunnel : null;
        if (underlay is not null && tunnel is not null && tunnel.Mtu > underlay.Mtu - 50)
            Add("mtu", Severity.Error, $"{device} MTU {tunnel.Mtu} exceeds {underlay.Interface} MTU {underlay.Mtu} - 50 of VXLAN overhead: large packets are dropped", $"set network.mtu to {underlay.Mtu - 50} or less and re-apply");
        var daemonPath = spec.Docker.DaemonConfigFor(host);
        var daemon = daemonPath is null ? null : ParseJson(observed.Files.GetValueOrDefault(daemonPath));
        if (tunnel is not null && daemon?.TryGetProperty("mtu", out var dmtu) == true && dmtu.TryGetInt32(out var dockerMtu) && dockerMtu != tunnel.Mtu)
            Add("mtu", Severity.Error, $"{daemonPath} sets mtu {dockerMtu} but {device} has {tunnel.Mtu}: containers send packets the overlay cannot carry", "overlayctl apply (it writes the overlay MTU), then restart dockerd");

        if (spec.Network.Backend == BackendKind.Ovs && spec.Network.Ovs.DatapathType == "netdev" && underlay is not null
            && observed.Ovs is { } ovs && ovs.FindBridge(underlay.Interface) is null)
            Add("ovs-underlay", Severity.Error,
                $"{host.Address} is on {underlay.Interface}, which is not an OVS bridge: userspace (netdev) VXLAN ports only send from an address on an OVS bridge, so no tunnel carries traffic",
                $"put {underlay.Interface} into an OVS netdev bridge and move {host.Address} onto that bridge (as OVS-DPDK hosts do; lab up builds br-phy), or use datapathType: system");

        if (vxlan is not null && lease.VtepMac is { } leaseMac && vxlan.Mac != leaseMac)
            Add("vtep-mac", Severity.Error, $"{device} has MAC {vxlan.Mac} but the lease says {leaseMac}: every peer's fdb entry points at the old MAC (udev or NetworkManager changed it?)", $"overlayctl apply (recreates {device} with the lease's MAC); mark it unmanaged for NetworkManager/systemd-networkd");

        if (vxlan is not null) CheckPeers(spec, device, peers, observed, Add);
        if (spec.Network.Backend == BackendKind.Ovs) CheckOvsPeers(spec, peers, observed, Add);

        if (daemonPath is not null && daemon is { } d && d.TryGetProperty("bip", out var bip) && bip.GetString() != DockerFiles.Bip(lease.Subnet))
            Add("docker-bip", Severity.Error, $"{daemonPath} has bip {bip.GetString()} but this host's lease is {lease.Subnet}: Docker puts containers on the wrong subnet", $"overlayctl apply, then restart dockerd (bip must be {DockerFiles.Bip(lease.Subnet)})");

        foreach (var rule in observed.Iptables.Table("nat").RulesOf("POSTROUTING"))
        {
            var m = MasqueradeSource().Match(rule);
            if (m.Success && Net.Ipv4Cidr.TryParse(m.Groups[1].Value, out var source) && spec.Network.Cidr.Contains(source))
                Add("docker-masquerade", Severity.Error, $"'{rule}' rewrites container traffic leaving {spec.Docker.Bridge}, including traffic to other hosts' containers", "set \"ip-masq\": false for Docker (overlayctl writes it in daemon.json) and restart dockerd; overlayctl masquerades only traffic leaving the overlay");
        }

        var strict = facts.RpFilter.Where(kv => kv.Value == 1 && (kv.Key == "all" || kv.Key == device || kv.Key == underlay?.Interface)).Select(kv => kv.Key).ToList();
        if (strict.Count > 0)
            Add("rp-filter", Severity.Warning, $"strict rp_filter on {string.Join(", ", strict)}: replies that come back another way are dropped", string.Join("; ", strict.Select(s => $"sysctl -w net.ipv4.conf.{s.Replace('.', '/')}.rp_filter=2")));

        if (vxlan is not null && facts.TxChecksumOffload == true)
            Add("checksum-offload", Severity.Warning, $"tx checksum offload is on for {device}: behind NAT some kernels send VXLAN packets with bad checksums", $"ethtool -K {device} tx-checksum-ip-generic off");
        return findings;
    }

    /// <summary>Cluster-wide lease problems: overlaps, an address with two leases, holders outside the spec, keys that cannot be read.</summary>
    public static IReadOnlyList<Finding> CheckLeases(ClusterSpec spec, LeaseSnapshot snapshot)
    {
        var leases = snapshot.Leases;
        var findings = new List<Finding>();
        if (snapshot.ConfigProblem is { } problem)
            findings.Add(new Finding("leases", "-", Severity.Error, problem, "overlayctl apply writes the spec's network config over it"));
        foreach (var entry in snapshot.Unreadable)
            findings.Add(new Finding("leases", "-", Severity.Error,
                $"{entry.Key} is not a lease overlayctl can read ({entry.Problem}){(entry.Subnet is { } s ? $"; {s} is treated as taken" : "")}",
                $"inspect it with etcdctl get {entry.Key}; if it is garbage: overlayctl leases release -f SPEC --key {entry.Key}"));
        var sorted = leases.OrderBy(l => l.Subnet).ToList();
        for (var i = 1; i < sorted.Count; i++)
            if (sorted[i - 1].Subnet.Overlaps(sorted[i].Subnet))
                findings.Add(new Finding("leases", "-", Severity.Error, $"leases {sorted[i - 1].Subnet} ({sorted[i - 1].PublicIp}) and {sorted[i].Subnet} ({sorted[i].PublicIp}) overlap", "release one of them: overlayctl leases release, or etcdctl del the key"));
        foreach (var group in leases.GroupBy(l => l.PublicIp).Where(g => g.Count() > 1))
            findings.Add(new Finding("leases", spec.Hosts.FirstOrDefault(h => h.Address == group.Key)?.Name ?? "-", Severity.Error,
                $"{group.Key} holds {group.Count()} leases ({string.Join(", ", group.Select(l => l.Subnet))}): peers route to both", "release the extra lease (keep the one the host's docker0 uses)"));
        var addresses = spec.Hosts.Select(h => h.Address).ToHashSet();
        foreach (var stale in leases.Where(l => !addresses.Contains(l.PublicIp)))
            findings.Add(new Finding("leases", "-", Severity.Warning,
                $"lease {stale.Subnet} is held by {stale.PublicIp}, which is not in the spec (a dead host, or a flannel node sharing the network)", "overlayctl leases gc -f SPEC --yes, if that host is gone"));
        return findings;
    }

    private static void CheckForward(ObservedHost observed, Action<string, Severity, string, string> add)
    {
        var filter = observed.Iptables.Table("filter");
        var forward = filter.RulesOf("FORWARD").ToList();
        var jump = forward.FindIndex(r => r.EndsWith($"-j {IptablesRules.ForwardChain}", StringComparison.Ordinal));
        var policy = filter.Chains.GetValueOrDefault("FORWARD");
        if (jump < 0 && policy is "DROP")
            add("forward-policy", Severity.Error, "FORWARD policy is DROP (Docker sets it) and overlayctl's accept rules are missing: traffic between hosts' containers is dropped", "overlayctl apply (adds OVERLAYCTL-FWD ahead of it)");
        var blocker = forward.Take(jump < 0 ? forward.Count : jump).FirstOrDefault(r => r.EndsWith("-j DROP", StringComparison.Ordinal) || r.Contains("-j REJECT", StringComparison.Ordinal));
        if (blocker is not null)
            add("forward-policy", Severity.Error, $"'{blocker}' comes before overlayctl's accept rules in FORWARD", $"iptables -D {blocker[3..]} (or overlayctl destroy + apply to move our jump to the top)");
    }

    private static void CheckVxlanPort(ClusterSpec spec, ObservedHost observed, Action<string, Severity, string, string> add)
    {
        if (spec.Network.Backend == BackendKind.HostGw) return;
        var port = spec.Network.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var filter = observed.Iptables.Table("filter");
        foreach (var rule in filter.RulesOf("INPUT"))
        {
            var dropsUdp = rule.Contains("-p udp", StringComparison.Ordinal) && (rule.EndsWith("-j DROP", StringComparison.Ordinal) || rule.Contains("-j REJECT", StringComparison.Ordinal));
            var ours = !rule.Contains("--dport", StringComparison.Ordinal) || rule.Contains($"--dport {port}", StringComparison.Ordinal);
            if (dropsUdp && ours && !rule.Contains("! ", StringComparison.Ordinal))
            {
                add("vxlan-port", Severity.Error, $"'{rule}' drops VXLAN (UDP {port}) arriving from peers", $"iptables -I INPUT -p udp --dport {port} -j ACCEPT (or open UDP {port} in firewalld: firewall-cmd --add-port={port}/udp)");
                return;
            }
        }
        if (filter.Chains.GetValueOrDefault("INPUT") is "DROP" && !filter.RulesOf("INPUT").Any(r => r.Contains($"--dport {port}", StringComparison.Ordinal) && r.EndsWith("-j ACCEPT", StringComparison.Ordinal)))
            add("vxlan-port", Severity.Error, $"INPUT policy is DROP with no rule accepting UDP {port}: peers' VXLAN packets are dropped", $"iptables -I INPUT -p udp --dport {port} -j ACCEPT");
    }

    private static void CheckPeers(ClusterSpec spec, string device, IReadOnlyList<Peer> peers, ObservedHost observed, Action<string, Severity, string, string> add)
    {
        var neighbors = observed.Neighbors.Where(n => n.Device == device).GroupBy(n => n.Address).ToDictionary(g => g.Key, g => g.First());
        var fdb = observed.Fdb.Where(f => f.Device == device).GroupBy(f => f.Mac).ToDictionary(g => g.Key, g => g.First());
        var routes = observed.Routes.Where(r => r.Destination is not null).ToLookup(r => r.Destination!.Value);
        var underlayRoutes = spec.Network.DirectRouting ? Underlay.UnderlayRoutes(observed, spec.Network.Cidr) : [];
        foreach (var peer in peers)
        {
            var l = peer.Lease;
            var name = peer.HostName ?? l.PublicIp.ToString();
            if (l.VtepMac is not { } mac || (spec.Network.DirectRouting && Underlay.IsOnLink(underlayRoutes, l.PublicIp))) continue;
            var problems = new List<string>();
            if (!neighbors.TryGetValue(l.Subnet.Network, out var n)) problems.Add($"no neighbour entry for {l.Subnet.Network}");
            else if (n.LinkAddress != mac) problems.Add($"neighbour {l.Subnet.Network} points at {n.LinkAddress}, not {mac}");
            if (!fdb.TryGetValue(mac, out var f)) problems.Add($"no fdb entry for {mac}");
            else if (f.Destination != l.PublicIp) problems.Add($"fdb {mac} sends to {f.Destination}, not {l.PublicIp}");
            if (!routes[l.Subnet].Any(r => r.Device == device)) problems.Add($"no route to {l.Subnet} via {device}");
            if (problems.Count > 0)
                add("peers", Severity.Error, $"peer {name} ({l.Subnet}): {string.Join("; ", problems)}", "overlayctl apply (re-adds them; a network restart or a stopped daemon loses them)");
        }
    }

    private static void CheckOvsPeers(ClusterSpec spec, IReadOnlyList<Peer> peers, ObservedHost observed, Action<string, Severity, string, string> add)
    {
        var name = spec.Network.Ovs.Bridge;
        if (observed.Ovs?.FindBridge(name) is not { } bridge)
        {
            if (peers.Count > 0) add("peers", Severity.Error, $"the OVS bridge {name} is missing: no tunnel to any peer", "overlayctl apply");
            return;
        }
        var routes = observed.Routes.Where(r => r.Destination is not null).ToLookup(r => r.Destination!.Value);
        foreach (var peer in peers)
        {
            var l = peer.Lease;
            var port = OvsBackend.TunnelName(l.PublicIp);
            var problems = new List<string>();
            if (bridge.FindPort(port) is not { } p) problems.Add($"no tunnel port {port} on {name}");
            else
            {
                if (p.Type != "vxlan" || p.Options.GetValueOrDefault("remote_ip") != l.PublicIp.ToString())
                    problems.Add($"{port} is {p.Type ?? "not a tunnel"} to {p.Options.GetValueOrDefault("remote_ip") ?? "nowhere"}, not vxlan to {l.PublicIp}");
                if (!p.Protected) problems.Add($"{port} is not protected: broadcasts can loop through the mesh");
            }
            if (!routes[l.Subnet].Any(r => r.Device == name)) problems.Add($"no route to {l.Subnet} via {name}");
            if (problems.Count > 0)
                add("peers", Severity.Error, $"peer {peer.HostName ?? l.PublicIp.ToString()} ({l.Subnet}): {string.Join("; ", problems)}", "overlayctl apply (re-adds them)");
        }
    }

    private static JsonElement? ParseJson(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^-A POSTROUTING -s (\S+) .*-j MASQUERADE")]
    private static partial Regex MasqueradeSource();
}
