using System.Globalization;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using static OverlayCtl.Core.Planning.Ops;

namespace OverlayCtl.Core.Backends.WireGuard;

/// <summary>
/// flannel's WireGuard data path, encrypted between hosts: one <c>flannel-wg</c> device (flannel's name) holding
/// the lease's network address as a /32, the whole cluster network routed through it, and one WireGuard peer per
/// other lease holder: its public key, endpoint <c>PublicIP:Port</c> from its lease and its subnet as allowed IPs,
/// so WireGuard picks the peer by destination. The lease carries <c>{"PublicKey", "Port"}</c> as flannel's does,
/// so flannel nodes and overlayctl hosts are peers of each other.
/// <para>
/// Each host makes its own key pair: the private key is generated on the host into its key file and never leaves
/// it (wg reads it from there); only the public key comes back, and goes into the lease. That is why this backend
/// reads the host before leasing (<see cref="LeaseReads"/>) and makes the key first (<see cref="PrepareLease"/>).
/// </para>
/// <para>
/// The device is the kernel's (<c>ip link add ... type wireguard</c>) or, where the kernel has no WireGuard,
/// wireguard-go's, started detached with a pid file under /run/overlayctl, which destroy uses to stop it.
/// </para>
/// </summary>
public sealed class WireGuardBackend : IBackend
{
    /// <summary>The spec's spelling, and flannel's lease and config BackendType.</summary>
    public const string BackendName = "wireguard";

    /// <summary>flannel's device name, so a host moving between flannel and overlayctl keeps one device.</summary>
    public const string DeviceName = "flannel-wg";

    public string Name => BackendName;

    public string LeaseType => BackendName;

    public IReadOnlyList<string> NetworkKeys { get; } = ["wireguard"];

    /// <summary>
    /// flannel's figure: an outer IPv4 or IPv6 header (20 or 40), UDP (8), WireGuard's type, key index and nonce
    /// (16) and its authentication tag (16), rounded up to 80, so flannel nodes and overlayctl hosts agree on the MTU.
    /// </summary>
    public bool SupportsIpv6 => false;

    public int Overhead => 80;

    /// <summary>How old a peer's last handshake may be: WireGuard shakes hands again every 2 minutes while traffic flows.</summary>
    public static TimeSpan HandshakeAge { get; } = TimeSpan.FromMinutes(3);

    public IReadOnlyList<DoctorCheck> Checks { get; } =
    [
        new("wireguard-port", "INPUT does not drop the WireGuard UDP listen port"),
        new("private-key", "flannel-wg holds the key file's private key, whose public half is the one in the lease"),
        new("peers", "every WireGuard lease is a peer of flannel-wg with the lease's key, endpoint PublicIP:Port and subnet as allowed IPs"),
        new("handshake", "every peer shook hands within the last 3 minutes (none: no traffic passed, or UDP to its port is blocked)"),
    ];

    public static WireGuardSettings SettingsOf(ClusterSpec spec) => spec.Network.SettingsOf<WireGuardSettings>(BackendName);

    /// <summary>
    /// Where the wireguard-go started for the device on <paramref name="host"/> keeps its pid (tmpfs: gone at reboot
    /// with the process). The cluster's and host's names are in it, since namespace hosts share one /run.
    /// </summary>
    public static string PidFile(ClusterSpec spec, HostSpec host) => $"{RunPaths.Root}/wireguard-{spec.Name}-{host.Name}.pid";

    public BackendSettings ReadSpec(BackendSpecContext context) => WireGuardSettings.Read(context);

    public string? Device(ClusterSpec spec) => DeviceName;

    /// <summary>The host's public key, as read from its key file (null until it has one), and the port it listens on.</summary>
    public LeaseData LeaseData(ClusterSpec spec, HostSpec host, ObservedHost? observed)
    {
        var settings = SettingsOf(spec);
        var key = observed?.PublicKeys.GetValueOrDefault(settings.KeyFileFor(spec, host));
        return new LeaseData(null, null, WireGuardPrograms.IsKey(key) ? key : null, settings.ListenPort);
    }

    /// <summary>
    /// flannel's wireguard keys: a flannel node takes its listen port and keepalive from the config (defaults 51820
    /// and 0) and dials every peer at its own port, ignoring a lease's <c>Port</c>; so the config says the spec's.
    /// </summary>
    public ConfigData ConfigData(ClusterSpec spec) =>
        new(null, null, SettingsOf(spec).ListenPort, SettingsOf(spec).PersistentKeepalive);

    public IReadOnlyList<HostRead> LeaseReads(ClusterSpec spec, HostSpec host) => [new HostRead.WireGuardPublicKey(SettingsOf(spec).KeyFileFor(spec, host))];

    /// <summary>When selected: the key's public half and the device; always, when the device exists: the pid file of a wireguard-go overlayctl started.</summary>
    public IEnumerable<HostRead> Reads(ClusterSpec spec, HostSpec host, bool selected)
    {
        var pidFile = new HostRead.File(PidFile(spec, host), DeviceName);
        return selected ? [.. LeaseReads(spec, host), new HostRead.WireGuard(DeviceName), pidFile] : [pidFile];
    }

    /// <summary>The private key, made on the host when its key file is absent; a host that has one keeps it (and its public key) across reboots.</summary>
    public IEnumerable<Operation> PrepareLease(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var keyFile = SettingsOf(spec).KeyFileFor(spec, host);
        if (observed.PublicKeys.GetValueOrDefault(keyFile) is not null) yield break;
        yield return new Operation(ChangeKind.Add, ResourceAddress.File(keyFile), CommandStep.Sh("wireguard-genkey", WireGuardPrograms.GenerateKey, keyFile))
            .Shows("absent", "private key generated on the host (public key known after apply)");
    }

    /// <summary>A new private key replaces the old in the key file, made on the host as the first one was; apply then sets it and publishes its public half.</summary>
    public IEnumerable<Operation> RotateKeys(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var keyFile = SettingsOf(spec).KeyFileFor(spec, host);
        var now = observed.PublicKeys.GetValueOrDefault(keyFile);
        yield return new Operation(now is null ? ChangeKind.Add : ChangeKind.Replace, ResourceAddress.File(keyFile), CommandStep.Sh("wireguard-rotate", WireGuardPrograms.RotateKey, keyFile))
            .Shows(now is null ? "absent" : $"public key {now}", "a new private key generated on the host (public key known after apply)");
    }

    public IEnumerable<string> OwnedDevices(ClusterSpec spec, ObservedHost observed) => [DeviceName];

    /// <summary>The device, then the wireguard-go that served it (by its pid file), so no process is left.</summary>
    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        if (observed.FindLink(DeviceName) is { Kind: "wireguard" or "tun" })
            yield return Ip(ChangeKind.Remove, ResourceAddress.Link(DeviceName), "link", "del", DeviceName);
        var pidFile = PidFile(spec, host);
        if (observed.Files.GetValueOrDefault(pidFile) is not null)
            yield return new Operation(ChangeKind.Remove, ResourceAddress.Process(pidFile), CommandStep.Sh("wireguard-stop", WireGuardPrograms.Stop, pidFile));
    }

    public BackendState Converge(BackendContext c)
    {
        var (spec, host) = (c.Spec, c.Host);
        var settings = SettingsOf(spec);
        var device = DeviceName;
        var keyFile = settings.KeyFileFor(spec, host);
        var ownKey = c.Observed.PublicKeys.GetValueOrDefault(keyFile);
        var link = c.Observed.FindLink(device);
        if (link is not null && link.Kind is not ("wireguard" or "tun"))
            throw new PlanningException($"{host.Name}: {device} exists but is a {link.Kind ?? "plain"} device, not a WireGuard device; remove it (ip link del {device}) if nothing on the host uses it");
        var fresh = link is null;
        var wg = fresh ? null : c.Observed.WireGuard.GetValueOrDefault(device);
        var ops = new List<Operation>();
        var mtu = c.Mtu.ToString(CultureInfo.InvariantCulture);
        var port = settings.ListenPort.ToString(CultureInfo.InvariantCulture);

        if (fresh)
            ops.Add(new Operation(ChangeKind.Add, ResourceAddress.Link(device),
                CommandStep.Sh("wireguard-up", WireGuardPrograms.Up, Implementation(settings.Implementation), device, PidFile(spec, host))));
        if (fresh || wg?.PublicKey is null || wg.PublicKey != ownKey)
        {
            // wg reads the private key from its file on the host: it never passes through overlayctl.
            var setKey = Run(fresh ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Link(device, "private-key"), "wg", "set", device, "private-key", keyFile);
            ops.Add(fresh || wg?.PublicKey is null ? setKey : setKey.Shows($"public key {wg.PublicKey}", $"public key {ownKey ?? "(known after apply)"}"));
        }
        if (fresh || wg?.ListenPort != settings.ListenPort)
        {
            var setPort = Run(fresh ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Link(device, "listen-port"), "wg", "set", device, "listen-port", port);
            ops.Add(fresh || wg is null ? setPort : setPort.Shows(wg.ListenPort.ToString(CultureInfo.InvariantCulture), port));
        }
        if (fresh) ops.Add(Ip(ChangeKind.Add, ResourceAddress.Link(device, "mtu"), "link", "set", "dev", device, "mtu", mtu));
        else if (link!.Mtu != c.Mtu)
            ops.Add(Ip(ChangeKind.Change, ResourceAddress.Link(device, "mtu"), "link", "set", "dev", device, "mtu", mtu).Shows(link.Mtu.ToString(CultureInfo.InvariantCulture), mtu));

        // flannel gives the device the lease's network address as a /32.
        var own = new InterfaceAddress(c.Lease.Subnet.Network, 32);
        var addresses = fresh ? [] : c.Observed.AddressesOf(device).ToList();
        foreach (var stale in addresses.Where(a => a != own))
            ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Address(stale, device), "addr", "del", stale.ToString(), "dev", device));
        if (!addresses.Contains(own))
            ops.Add(Planner.AddressChange(Ip(ChangeKind.Add, ResourceAddress.Address(own, device), "addr", "add", own.ToString(), "dev", device), addresses, own));
        if (fresh) ops.Add(Ip(ChangeKind.Add, ResourceAddress.Link(device, "up"), "link", "set", device, "up"));
        else if (!link!.Up) ops.Add(Ip(ChangeKind.Change, ResourceAddress.Link(device, "up"), "link", "set", device, "up").Shows("down", "up"));

        var (peers, warnings) = WantedPeers(c, settings);
        foreach (var stale in wg?.Peers.Where(p => !peers.ContainsKey(p.PublicKey)) ?? [])
            ops.Add(Run(ChangeKind.Remove, ResourceAddress.Peer(device, stale.PublicKey), "wg", "set", device, "peer", stale.PublicKey, "remove"));
        var keepalive = settings.PersistentKeepalive == 0 ? "off" : settings.PersistentKeepalive.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, want) in peers)
        {
            var current = wg?.FindPeer(key);
            if (current is not null && current.Endpoint == want.Endpoint && current.AllowedIps.SequenceEqual(new[] { want.AllowedIps }, StringComparer.Ordinal)
                && current.PersistentKeepalive == settings.PersistentKeepalive) continue;
            var set = Run(current is null ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Peer(device, key),
                "wg", "set", device, "peer", key, "endpoint", want.Endpoint, "allowed-ips", want.AllowedIps, "persistent-keepalive", keepalive);
            ops.Add(current is null ? set : set.Shows(Describe(current.Endpoint, string.Join(',', current.AllowedIps), current.PersistentKeepalive), Describe(want.Endpoint, want.AllowedIps, settings.PersistentKeepalive)));
        }

        // As flannel: one device route for the whole network; WireGuard's allowed IPs pick the peer.
        var routes = new List<DesiredRoute> { new(spec.Network.Cidr, null, device, Onlink: false) };
        return new BackendState(ops, routes, fresh ? new HashSet<string>(StringComparer.Ordinal) { device } : null, warnings);
    }

    /// <summary>
    /// Every peer lease that can be a WireGuard peer, by public key, in subnet order: endpoint <c>PublicIP:Port</c>
    /// (the host's own listen port when the lease names none, as flannel does for its older leases) and the subnet as
    /// allowed IPs. A lease without a usable key is left out, and said so.
    /// </summary>
    private static (Dictionary<string, (string Endpoint, string AllowedIps)> Peers, List<string> Warnings) WantedPeers(BackendContext c, WireGuardSettings settings)
    {
        var peers = new Dictionary<string, (string Endpoint, string AllowedIps)>(StringComparer.Ordinal);
        var warnings = new List<string>();
        foreach (var peer in c.Peers.OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            var name = $"peer {peer.HostName ?? lease.PublicIp.ToString()} ({lease.Subnet})";
            if (lease.BackendType != BackendName)
                warnings.Add($"{name} leases for backend {lease.BackendType}, not wireguard: not a WireGuard peer until it is applied with backend: wireguard");
            else if (!WireGuardPrograms.IsKey(lease.PublicKey))
                warnings.Add($"{name} has no WireGuard public key in its lease yet (its key is made on that host, known after apply there): added once it has one");
            else if (lease.PublicKey == c.Lease.PublicKey || peers.ContainsKey(lease.PublicKey!))
                warnings.Add($"{name} has the public key {lease.PublicKey} of another host: two hosts share one key file; give each host its own (network.wireguard.keyFile) and apply");
            else
            {
                var port = lease.Port is > 0 and <= 65_535 ? lease.Port.Value : settings.ListenPort;
                peers[lease.PublicKey!] = (string.Create(CultureInfo.InvariantCulture, $"{lease.PublicIp}:{port}"), lease.Subnet.ToString());
            }
        }
        return (peers, warnings);
    }

    private static string Describe(string? endpoint, string allowedIps, int keepalive) =>
        string.Create(CultureInfo.InvariantCulture, $"endpoint {endpoint ?? "(none)"} allowed-ips {(allowedIps.Length == 0 ? "(none)" : allowedIps)} keepalive {(keepalive == 0 ? "off" : keepalive.ToString(CultureInfo.InvariantCulture))}");

    private static string Implementation(WireGuardImplementation implementation) => implementation switch
    {
        WireGuardImplementation.Kernel => "kernel",
        WireGuardImplementation.Userspace => "userspace",
        _ => "auto",
    };

    public BackendStatus Status(ClusterSpec spec, Lease lease, ObservedHost observed, HostPlan plan) =>
        new(DeviceName, BackendStatus.LinkState(observed, DeviceName), BackendStatus.Wanting(plan, ResourceKind.Peer));

    public IEnumerable<Finding> Check(DoctorContext context)
    {
        var (spec, host, lease, peers, observed) = (context.Input.Spec, context.Input.Host, context.Input.Lease, context.Input.Peers, context.Input.Observed);
        var settings = SettingsOf(spec);
        foreach (var finding in UdpPortCheck.Run(context, "wireguard-port", "WireGuard", settings.ListenPort)) yield return finding;
        var wireGuardPeers = peers.Where(p => p.Lease.BackendType == BackendName && WireGuardPrograms.IsKey(p.Lease.PublicKey)).ToList();
        if (!observed.WireGuard.TryGetValue(DeviceName, out var device))
        {
            if (wireGuardPeers.Count > 0) yield return context.Finding("peers", Severity.Error, $"{DeviceName} is missing: no tunnel to any peer", "overlayctl apply");
            yield break;
        }

        var keyFile = settings.KeyFileFor(spec, host);
        var fileKey = observed.PublicKeys.GetValueOrDefault(keyFile);
        if (device.PublicKey is null || device.PublicKey != fileKey)
            yield return context.Finding("private-key", Severity.Error,
                $"{DeviceName} holds {(device.PublicKey is null ? "no private key" : $"the private half of {device.PublicKey}")}, but {keyFile} holds {(fileKey is null ? "nothing" : $"the private half of {fileKey}")}: peers encrypt to a key this host does not use",
                $"overlayctl apply (sets {DeviceName}'s key from {keyFile}, made there if absent)");
        else if (lease.PublicKey != fileKey)
            yield return context.Finding("private-key", Severity.Error,
                $"the lease says public key {lease.PublicKey ?? "(none)"}, but {keyFile} holds the private half of {fileKey}: peers encrypt to a key this host does not have",
                "overlayctl apply (writes the host's public key into its lease)");

        foreach (var peer in wireGuardPeers)
        {
            var l = peer.Lease;
            var name = $"peer {peer.HostName ?? l.PublicIp.ToString()} ({l.Subnet})";
            var port = l.Port is > 0 and <= 65_535 ? l.Port.Value : settings.ListenPort;
            var endpoint = string.Create(CultureInfo.InvariantCulture, $"{l.PublicIp}:{port}");
            var problems = new List<string>();
            if (device.FindPeer(l.PublicKey!) is not { } current) problems.Add($"{DeviceName} has no peer with its public key {l.PublicKey}");
            else
            {
                if (current.Endpoint != endpoint) problems.Add($"endpoint {current.Endpoint ?? "(none)"}, not {endpoint} as its lease says");
                if (!current.AllowedIps.SequenceEqual(new[] { l.Subnet.ToString() }, StringComparer.Ordinal))
                    problems.Add($"allowed IPs {(current.AllowedIps.Count == 0 ? "(none)" : string.Join(",", current.AllowedIps))}, not {l.Subnet} as its lease says");
                if (problems.Count == 0 && context.Facts.Now is { } now && (current.LatestHandshake is not { } at || now - at > HandshakeAge))
                    yield return context.Finding("handshake", Severity.Warning,
                        $"{name}: {(current.LatestHandshake is { } last ? $"last handshake {(int)(now - last).TotalMinutes} min ago" : "no handshake yet")}: no traffic passed, or UDP {port} from {host.Address} to {l.PublicIp} is blocked",
                        $"ping a container on {peer.HostName ?? l.PublicIp.ToString()}; if it fails, check that UDP {port} passes between the hosts (doctor's wireguard-port there)");
            }
            if (problems.Count > 0)
                yield return context.Finding("peers", Severity.Error, $"{name}: {string.Join("; ", problems)}", "overlayctl apply (sets the peer from its lease)");
        }
    }
}
