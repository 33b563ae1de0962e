using System.Text.Json;
using System.Text.RegularExpressions;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
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
    /// <summary>The docker bridge check, which verify also asks: without the bridge, no container on the host reaches anything. Declared before <see cref="HostChecks"/>, which holds it: static fields start in order.</summary>
    public static readonly DoctorCheck DockerBridge = new("docker-bridge", "the docker bridge exists, is up and holds this host's lease gateway");

    /// <summary>The checks every host gets whatever its backend.</summary>
    private static readonly DoctorCheck[] HostChecks =
    [
        new("underlay", "the underlay interface exists and holds the host's address"),
        new("ip-forward", "net.ipv4.ip_forward is 1"),
        new("forward-policy", "FORWARD does not drop overlay traffic (policy DROP without our jump, or a DROP/REJECT rule ahead of it)"),
        new("mtu", "the overlay device's MTU fits the underlay (underlay minus the backend's overhead) and Docker uses the same MTU"),
        DockerBridge,
        new("docker-bip", "daemon.json's bip is this host's lease gateway"),
        new("docker-masquerade", "no foreign MASQUERADE rule rewrites traffic inside the overlay"),
        new("rp-filter", "strict reverse-path filtering is off on the underlay and overlay devices"),
    ];

    private static readonly DoctorCheck LeaseCheck = new("leases", "no lease overlaps another, no address holds two, no lease is held by an address outside the spec");

    /// <summary>Every check doctor runs for a backend, by name, with what it looks for (docs/commands/status-verify-doctor.md).</summary>
    public static IReadOnlyList<DoctorCheck> ChecksFor(IBackend backend) => [.. HostChecks, .. backend.Checks, LeaseCheck];

    /// <summary>The generic checks, then the backend's own (<see cref="IBackend.Check"/>).</summary>
    public static IReadOnlyList<Finding> CheckHost(PlanInput input, HostFacts facts)
    {
        var (spec, host, lease, observed) = (input.Spec, input.Host, input.Lease, input.Observed);
        var backend = spec.Network.Backend;
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

        // The same number the planner and verify use: the underlay's MTU minus the backend's overhead.
        var device = backend.Device(spec);
        var tunnel = device is null ? null : observed.FindLink(device);
        if (underlay is not null && tunnel is not null && tunnel.Mtu > underlay.Mtu - backend.Overhead)
            Add("mtu", Severity.Error, $"{device} MTU {tunnel.Mtu} exceeds {underlay.Interface} MTU {underlay.Mtu} - {backend.Overhead} of {backend.Name} overhead: large packets are dropped", $"set network.mtu to {underlay.Mtu - backend.Overhead} or less and re-apply");
        var daemonPath = spec.Docker.DaemonConfigFor(host);
        var daemon = daemonPath is null ? null : ParseJson(observed.Files.GetValueOrDefault(daemonPath));
        if (tunnel is not null && daemon?.TryGetProperty("mtu", out var dmtu) == true && dmtu.TryGetInt32(out var dockerMtu) && dockerMtu != tunnel.Mtu)
            Add("mtu", Severity.Error, $"{daemonPath} sets mtu {dockerMtu} but {device} has {tunnel.Mtu}: containers send packets the overlay cannot carry", "overlayctl apply (it writes the overlay MTU), then restart dockerd");

        if (spec.Network.Ipv6 is not null && observed.Ipv6 is { } v6) CheckIpv6(spec, lease, observed, v6, underlay, Add);

        findings.AddRange(backend.Check(new DoctorContext(input, facts, underlay)));
        CheckBridge(spec.Docker.Bridge, lease, observed, Add);

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

    private static void CheckBridge(string name, Lease lease, ObservedHost observed, Action<string, Severity, string, string> add)
    {
        var gateway = new Net.InterfaceAddress(lease.Subnet.Gateway, lease.Subnet.PrefixLength);
        if (observed.FindLink(name) is not { } bridge)
            add(DockerBridge.Name, Severity.Error, $"the docker bridge {name} does not exist: containers on this host have no network", "overlayctl apply (creates it with the lease's gateway), then restart dockerd");
        else if (!bridge.Up)
            add(DockerBridge.Name, Severity.Error, $"the docker bridge {name} is down: containers on this host reach nothing", $"ip link set {name} up (overlayctl apply does)");
        else if (!observed.AddressesOf(name).Contains(gateway))
            add(DockerBridge.Name, Severity.Error, $"the docker bridge {name} does not hold {gateway}, the gateway of this host's lease {lease.Subnet}: containers have no route out", "overlayctl apply (puts the gateway on it), then restart dockerd");
    }

    /// <summary>
    /// The IPv6 half of a dual-stack host, under the same check names: IPv6 forwarding (ip-forward), ip6tables' FORWARD
    /// (forward-policy), <c>flannel-v6.VNI</c>'s MTU against the underlay minus 70 (mtu), and the bridge's IPv6 gateway (docker-bridge).
    /// </summary>
    private static void CheckIpv6(ClusterSpec spec, Lease lease, ObservedHost observed, Ipv6State v6, Underlay? underlay, Action<string, Severity, string, string> add)
    {
        if (v6.Forwarding != true)
            add("ip-forward", Severity.Error, "net.ipv6.conf.all.forwarding is 0: the host does not route IPv6 between the overlay and its containers", "sysctl -w net.ipv6.conf.all.forwarding=1 (overlayctl apply sets it)");
        CheckForward(v6.Ip6tables, "ip6tables FORWARD", add);
        if (spec.Network.Backend is VxlanBackend && underlay is not null && observed.FindLink(VxlanBackend.Device6Name(spec)) is { } device6
            && device6.Mtu > underlay.Mtu - VxlanBackend.Overhead6)
            add("mtu", Severity.Error, $"{device6.Name} MTU {device6.Mtu} exceeds {underlay.Interface} MTU {underlay.Mtu} - {VxlanBackend.Overhead6} of VXLAN over IPv6: large IPv6 packets are dropped", $"set network.mtu to {underlay.Mtu - VxlanBackend.Overhead6} or less and re-apply");
        if (lease.Subnet6 is { } subnet6 && observed.FindLink(spec.Docker.Bridge) is not null
            && !v6.AddressesOf(spec.Docker.Bridge).Any(a => a.Address.Equals(Ipv6.Gateway(subnet6)) && a.PrefixLength == subnet6.PrefixLength))
            add(DockerBridge.Name, Severity.Error, $"the docker bridge {spec.Docker.Bridge} does not hold {Ipv6.GatewayWithLength(subnet6)}, the IPv6 gateway of this host's lease {subnet6}: containers have no IPv6 route out", "overlayctl apply (puts the IPv6 gateway on it)");
    }

    private static void CheckForward(ObservedHost observed, Action<string, Severity, string, string> add) => CheckForward(observed.Iptables, "FORWARD", add);

    private static void CheckForward(IptablesState tables, string what, Action<string, Severity, string, string> add)
    {
        var filter = tables.Table("filter");
        var forward = filter.RulesOf("FORWARD").ToList();
        var jump = forward.FindIndex(r => r.EndsWith($"-j {IptablesRules.ForwardChain}", StringComparison.Ordinal));
        var policy = filter.Chains.GetValueOrDefault("FORWARD");
        if (jump < 0 && policy is "DROP")
            add("forward-policy", Severity.Error, $"{what} policy is DROP (Docker sets it) and overlayctl's accept rules are missing: traffic between hosts' containers is dropped", "overlayctl apply (adds OVERLAYCTL-FWD ahead of it)");
        var blocker = forward.Take(jump < 0 ? forward.Count : jump).FirstOrDefault(IptablesRules.Drops);
        if (blocker is not null)
            add("forward-policy", Severity.Error, $"'{blocker}' comes before overlayctl's accept rules in {what}", "overlayctl apply (it moves its jump back to the top of FORWARD), or remove the rule if it is not wanted");
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
