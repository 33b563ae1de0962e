using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Backends;

/// <summary>
/// One way of carrying traffic between hosts, and everything overlayctl knows about it: its names, its
/// keys under <c>network:</c>, what it writes into flannel's keys, what must be read from a host, the
/// operations for its own devices and the routes it wants, its doctor checks and its status. The planner,
/// doctor and the commands only ask; a new backend is one folder and one line in <see cref="BackendRegistry"/>.
/// </summary>
public interface IBackend
{
    /// <summary>The spec's spelling (<c>network.backend</c>).</summary>
    string Name { get; }

    /// <summary>The lease and config <c>BackendType</c>, as flannel spells it, so flannel nodes on the prefix agree.</summary>
    string LeaseType { get; }

    /// <summary>The keys under <c>network:</c> this backend reads; the spec reader refuses any key no one reads.</summary>
    IReadOnlyList<string> NetworkKeys { get; }

    /// <summary>
    /// Reads and checks this backend's keys, recording located errors in the section. Every backend reads
    /// its keys whether or not it is selected: a switch away still needs the old backend's names to remove
    /// its devices. Null when the backend has no settings.
    /// </summary>
    BackendSettings? ReadSpec(BackendSpecContext context);

    /// <summary>
    /// Whether it carries IPv6 too (<c>network.ipv6</c>): flannel's vxlan and host-gw do; a spec asking for
    /// IPv6 with one that does not is refused by the spec reader, naming the ones that do.
    /// </summary>
    bool SupportsIpv6 { get; }

    /// <summary>
    /// What carrying an IPv6 packet between hosts costs in bytes (vxlan over an IPv6 underlay: 70; host-gw: nothing),
    /// so the IPv6 path's MTU is the underlay's minus it; meaningful only where <see cref="SupportsIpv6"/>.
    /// </summary>
    int Ipv6Overhead => 0;

    /// <summary>Bytes of encapsulation per packet: the overlay MTU defaults to the underlay's minus this (see <see cref="NetworkSpec.OverlayMtu"/>).</summary>
    int Overhead { get; }

    /// <summary>The device that carries overlay traffic on a host (its MTU, rp_filter and status), or null when there is none.</summary>
    string? Device(ClusterSpec spec);

    /// <summary>
    /// The lease's BackendData for a host (flannel's <c>VNI</c>, <c>VtepMAC</c>, <c>PublicKey</c>, <c>Port</c>).
    /// <paramref name="observed"/> is the host as read with <see cref="LeaseReads"/> (after <see cref="PrepareLease"/>
    /// ran), or null when it was not read: what only the host knows is then unknown (null).
    /// </summary>
    LeaseData LeaseData(ClusterSpec spec, HostSpec host, ObservedHost? observed);

    /// <summary>
    /// What must be read from a host before its lease can be written (WireGuard: the public key of the host's
    /// private key); empty when the lease follows from the spec alone. They are part of <see cref="Reads"/> too.
    /// </summary>
    IReadOnlyList<HostRead> LeaseReads(ClusterSpec spec, HostSpec host);

    /// <summary>
    /// Operations that must run on the host before its lease can say what <see cref="LeaseData"/> needs (WireGuard:
    /// make the private key when the host has none); empty when it is ready. apply and an agent run them before
    /// they lease, then read the host again; plan shows them first in the host's plan.
    /// </summary>
    IEnumerable<Operation> PrepareLease(ClusterSpec spec, HostSpec host, ObservedHost observed);

    /// <summary>
    /// Operations replacing the host's credentials (WireGuard: a new key pair, made on the host), for
    /// <c>rotate-keys</c>, which then applies so leases and peers follow; empty when the backend has none.
    /// </summary>
    IEnumerable<Operation> RotateKeys(ClusterSpec spec, HostSpec host, ObservedHost observed);

    /// <summary>The Backend fields of flannel's <c>&lt;prefix&gt;/config</c> beyond its Type.</summary>
    ConfigData ConfigData(ClusterSpec spec);

    /// <summary>What must be read from a host beyond what every host is read for; <paramref name="selected"/> is false for the backends the spec does not use.</summary>
    IEnumerable<HostRead> Reads(ClusterSpec spec, HostSpec host, bool selected);

    /// <summary>Operations converging the backend's devices and per-peer entries, and the routes it wants.</summary>
    BackendState Converge(BackendContext context);

    /// <summary>Operations removing every device this backend made (destroy, or a switch to another backend).</summary>
    IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed);

    /// <summary>Devices whose routes this backend owns (a route via one of them is stale unless wanted; it goes when the device goes).</summary>
    IEnumerable<string> OwnedDevices(ClusterSpec spec, ObservedHost observed);

    /// <summary>This backend's doctor checks, by name, with what each looks for.</summary>
    IReadOnlyList<DoctorCheck> Checks { get; }

    /// <summary>Runs <see cref="Checks"/> on one host.</summary>
    IEnumerable<Finding> Check(DoctorContext context);

    /// <summary>What status shows for this backend on a host: its device, the device's state, peers still to program.</summary>
    BackendStatus Status(ClusterSpec spec, Lease lease, ObservedHost observed, HostPlan plan);
}

/// <summary>Everything a backend may look at; plain values.</summary>
public sealed record BackendContext(ClusterSpec Spec, HostSpec Host, Lease Lease, IReadOnlyList<Peer> Peers, ObservedHost Observed, Underlay Underlay, int Mtu);

/// <summary>
/// A backend's answer: device operations in order, the peer routes it wants, and the devices this plan
/// deletes or (re)creates, whose observed routes vanish with them and so cannot count as present.
/// <see cref="Warnings"/>: what it leaves undone and the operator should know (a peer whose lease lacks its
/// public key yet), shown with the plan's warnings.
/// </summary>
public sealed record BackendState(IReadOnlyList<Operation> Operations, IReadOnlyList<DesiredRoute> Routes, IReadOnlySet<string>? Vanishing = null, IReadOnlyList<string>? Warnings = null)
{
    /// <summary>The IPv6 peer routes it wants, on a dual-stack network (vxlan's via <c>flannel-v6.VNI</c>, host-gw's via each peer's address6).</summary>
    public IReadOnlyList<DesiredRoute6> Routes6 { get; init; } = [];
}

/// <summary>An IPv6 route overlayctl wants: <c>ip route replace DST via VIA dev DEV [onlink] proto 211</c>.</summary>
public sealed record DesiredRoute6(System.Net.IPNetwork Destination, System.Net.IPAddress Via, string Device, bool Onlink);

/// <summary>
/// A route overlayctl wants: <c>ip route replace DST via VIA dev DEV [onlink] proto 211</c>, or without
/// <c>via</c> when <see cref="Via"/> is null (a device route: every address in DST is behind DEV, as
/// WireGuard's device carries the whole cluster network).
/// </summary>
public sealed record DesiredRoute(Ipv4Cidr Destination, Ipv4Address? Via, string Device, bool Onlink);

/// <summary>A backend's fields in a host's lease (<c>BackendData</c>); null fields are not written.</summary>
public sealed record LeaseData(int? Vni, MacAddress? VtepMac, string? PublicKey = null, int? Port = null)
{
    /// <summary>BackendV6Data's VtepMAC: the MAC of the IPv6 VXLAN device, on a dual-stack network.</summary>
    public MacAddress? VtepMac6 { get; init; }

    public static LeaseData None { get; } = new(null, null);
}

/// <summary>
/// A backend's fields in flannel's network config (<c>Backend</c>, beside its Type); null fields are not written.
/// <see cref="ListenPort"/> and <see cref="PersistentKeepaliveInterval"/> (seconds) are flannel's wireguard keys: a
/// flannel node listens on the config's port and dials every peer at it, so the config must say the spec's.
/// </summary>
public sealed record ConfigData(int? Vni, int? Port, int? ListenPort = null, int? PersistentKeepaliveInterval = null)
{
    public static ConfigData None { get; } = new(null, null);
}

/// <summary>
/// Something a backend needs read from a host beyond links, addresses, routes, neighbours, fdb,
/// iptables and the files; the host observer knows how to read each kind.
/// </summary>
public abstract record HostRead
{
    /// <summary>
    /// Open vSwitch's bridges, ports and interfaces from the database at <paramref name="Db"/> (null: ovs-vsctl's
    /// own). With <paramref name="OnlyIfDevice"/>, only when that device exists (what an earlier apply left),
    /// so hosts without Open vSwitch never need it.
    /// </summary>
    public sealed record OpenVSwitch(string? Db, string? OnlyIfDevice) : HostRead;

    /// <summary>
    /// Whether transmit checksum offload (<c>ethtool -k</c>, tx-checksum-ip-generic) is on for
    /// <paramref name="Device"/>, when the device exists; into <see cref="State.ObservedHost.TxChecksumOffload"/>.
    /// </summary>
    public sealed record TxChecksumOffload(string Device) : HostRead;

    /// <summary>
    /// A file a backend owns on the host (a pid file), into <see cref="State.ObservedHost.Files"/>; with
    /// <paramref name="OnlyIfDevice"/>, only when that device exists (what an earlier apply left).
    /// </summary>
    public sealed record File(string Path, string? OnlyIfDevice = null) : HostRead;

    /// <summary>
    /// The WireGuard public key of the private key file at <paramref name="KeyFile"/> (<c>wg pubkey</c> on the host,
    /// whose output is only the public key), into <see cref="State.ObservedHost.PublicKeys"/>: null when the file is absent.
    /// </summary>
    public sealed record WireGuardPublicKey(string KeyFile) : HostRead;

    /// <summary>
    /// A WireGuard device's public key, listen port and peers, when the device exists, into
    /// <see cref="State.ObservedHost.WireGuard"/>. Read so that the private key never leaves the host.
    /// </summary>
    public sealed record WireGuard(string Device) : HostRead;

    /// <summary>
    /// The host's IPv6 tables, ip6tables and forwarding sysctl, into <see cref="State.ObservedHost.Ipv6"/>: always for a
    /// dual-stack spec and a host that names its address6. Otherwise <paramref name="OnlyIf"/> says what marks a host
    /// overlayctl made dual-stack before (a switch back, a failed one, a spec that lost <c>network.ipv6</c> and the
    /// hosts' address6): only such a host is read, after the reads every observation makes, so that its IPv6 leftovers
    /// are found and removed.
    /// </summary>
    public sealed record Ipv6(Ipv6Traces? OnlyIf = null) : HostRead;
}

/// <summary>
/// What overlayctl leaves on a host it made dual-stack, readable without the IPv6 tables: flannel's
/// <c>flannel-v6.VNI</c> device (any VNI), <c>FLANNEL_IPV6_SUBNET</c> in subnet.env, or a <c>fixed-cidr-v6</c> in
/// daemon.json that its backup (the operator's original) lacks. The files are written after everything else a plan
/// does, so a switch back that failed half way still leaves one of them, and the next apply finishes it.
/// </summary>
/// <param name="SubnetEnv">The host's subnet.env path, when the spec writes one.</param>
/// <param name="DaemonConfig">The host's daemon.json path, when the spec writes one.</param>
public sealed record Ipv6Traces(string? SubnetEnv, string? DaemonConfig)
{
    /// <summary>The IPv6 VXLAN device's name before its VNI.</summary>
    public const string DevicePrefix = "flannel-v6.";

    public bool FoundIn(State.ObservedHost observed) =>
        observed.Links.Any(l => l.Name.StartsWith(DevicePrefix, StringComparison.Ordinal))
        || (SubnetEnv is not null && observed.Files.GetValueOrDefault(SubnetEnv)?.Contains("FLANNEL_IPV6_SUBNET=", StringComparison.Ordinal) == true)
        || (DaemonConfig is not null && observed.Files.GetValueOrDefault(DaemonConfig) is { } daemon && daemon.Contains(FixedCidrV6, StringComparison.Ordinal)
            && observed.Files.GetValueOrDefault(Docker.DockerFiles.BackupPath(DaemonConfig))?.Contains(FixedCidrV6, StringComparison.Ordinal) != true);

    private const string FixedCidrV6 = "\"fixed-cidr-v6\"";
}

/// <summary>One host's status as a backend sees it. <see cref="Device"/> and <see cref="DeviceState"/> are null when it has no device.</summary>
public sealed record BackendStatus(string? Device, string? DeviceState, int PeersMissing)
{
    /// <summary>
    /// A dual-stack host's second device (vxlan's <c>flannel-v6.VNI</c>) and its state, as <see cref="DeviceState"/> says
    /// it; null when the backend has none there (IPv4 only, host-gw), so IPv4-only status keeps its shape.
    /// </summary>
    public string? Device6 { get; init; }

    /// <inheritdoc cref="Device6"/>
    public string? Device6State { get; init; }

    /// <summary>missing, down or up: what every device can be.</summary>
    public static string LinkState(ObservedHost observed, string device) =>
        observed.FindLink(device) is not { } link ? "missing" : link.Up ? "up" : "down";

    /// <summary>How many operations of the plan add, change or replace resources of this kind (one per peer not yet programmed).</summary>
    public static int Wanting(HostPlan plan, ResourceKind kind) =>
        plan.Operations.Count(op => op.Address.Kind == kind && op.Kind != ChangeKind.Remove);
}
