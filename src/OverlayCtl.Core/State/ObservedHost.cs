using System.Net;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.State;

/// <summary>
/// A host's live network state as read from <c>ip -j</c>, <c>bridge -j</c>, <c>iptables-save</c>,
/// <c>ovs-vsctl</c> and the files overlayctl owns. The planner compares it with the desired state.
/// </summary>
public sealed record ObservedHost(
    IReadOnlyList<LinkInfo> Links,
    IReadOnlyList<AddressInfo> Addresses,
    IReadOnlyList<RouteInfo> Routes,
    IReadOnlyList<NeighborInfo> Neighbors,
    IReadOnlyList<FdbInfo> Fdb,
    IptablesState Iptables,
    bool? IpForward,
    IReadOnlyDictionary<string, string?> Files,
    OvsState? Ovs)
{
    public static ObservedHost Empty { get; } = new([], [], [], [], [], IptablesState.Empty, null, new Dictionary<string, string?>(), null);

    public LinkInfo? FindLink(string name) => Links.FirstOrDefault(l => l.Name == name);

    /// <summary>Transmit checksum offload per device, for the devices a backend asked about (<see cref="Backends.HostRead.TxChecksumOffload"/>).</summary>
    public IReadOnlyDictionary<string, bool> TxChecksumOffload { get; init; } = new Dictionary<string, bool>();

    /// <summary>Where the session running overlayctl's commands comes from (<c>SSH_CLIENT</c> on the host), when it is ssh.</summary>
    public Ipv4Address? SshClient { get; init; }

    /// <summary>
    /// The public key of each private key file a backend asked about (<see cref="Backends.HostRead.WireGuardPublicKey"/>),
    /// by path; null when the file is absent. Private keys are never read into overlayctl.
    /// </summary>
    public IReadOnlyDictionary<string, string?> PublicKeys { get; init; } = new Dictionary<string, string?>();

    /// <summary>The WireGuard devices a backend asked about (<see cref="Backends.HostRead.WireGuard"/>) that exist, by name.</summary>
    public IReadOnlyDictionary<string, WireGuardDevice> WireGuard { get; init; } = new Dictionary<string, WireGuardDevice>();

    public IEnumerable<InterfaceAddress> AddressesOf(string device) => Addresses.Where(a => a.Device == device).Select(a => a.Address);

    /// <summary>
    /// The host's IPv6 state, read when the spec is dual-stack or the host shows what an earlier dual-stack apply left
    /// (<see cref="Backends.HostRead.Ipv6"/>); null when it was not read.
    /// </summary>
    public Ipv6State? Ipv6 { get; init; }
}

/// <summary>
/// A host's IPv6 tables as <c>ip -j -6</c>, <c>bridge -j fdb</c>, <c>ip6tables-save</c> and the forwarding sysctl give
/// them: global addresses only (the kernel's link-local ones are not overlayctl's business).
/// </summary>
public sealed record Ipv6State(
    IReadOnlyList<Address6Info> Addresses,
    IReadOnlyList<Route6Info> Routes,
    IReadOnlyList<Neighbor6Info> Neighbors,
    IReadOnlyList<Fdb6Info> Fdb,
    IptablesState Ip6tables,
    bool? Forwarding)
{
    public static Ipv6State Empty { get; } = new([], [], [], [], IptablesState.Empty, null);

    public IEnumerable<Address6Info> AddressesOf(string device) => Addresses.Where(a => a.Device == device);
}

/// <summary>One global IPv6 address on a device.</summary>
public sealed record Address6Info(string Device, IPAddress Address, int PrefixLength)
{
    public override string ToString() => $"{Address}/{PrefixLength}";
}

/// <summary>One IPv6 route in the main table; <see cref="Destination"/> null for default.</summary>
public sealed record Route6Info(IPNetwork? Destination, IPAddress? Gateway, string? Device, bool Onlink, string? Protocol);

/// <summary>One IPv6 neighbour entry.</summary>
public sealed record Neighbor6Info(IPAddress Address, string Device, MacAddress? LinkAddress, bool Permanent);

/// <summary>One fdb entry whose destination is an IPv6 address (a VXLAN device over an IPv6 underlay).</summary>
public sealed record Fdb6Info(MacAddress Mac, string Device, IPAddress Destination, bool Permanent);

/// <summary>One network device (<c>ip -j -d link</c>).</summary>
public sealed record LinkInfo(
    int Index,
    string Name,
    string? Kind,
    int Mtu,
    MacAddress? Mac,
    bool Up,
    string? Master,
    string? Alias,
    VxlanInfo? Vxlan);

/// <summary>VXLAN device parameters (<c>ip -d</c> linkinfo.info_data).</summary>
public sealed record VxlanInfo(int Id, Ipv4Address? Local, string? Device, int Port, bool Learning)
{
    /// <summary>The IPv6 local address of a VXLAN device over an IPv6 underlay (<c>local6</c>).</summary>
    public IPAddress? Local6 { get; init; }
}

/// <summary>
/// A WireGuard device as <c>wg show</c> gives it, without its private key: the public key derived from
/// it (null when none is set), the UDP port it listens on, and its peers.
/// </summary>
public sealed record WireGuardDevice(string? PublicKey, int ListenPort, IReadOnlyList<WireGuardPeer> Peers)
{
    public WireGuardPeer? FindPeer(string publicKey) => Peers.FirstOrDefault(p => p.PublicKey == publicKey);
}

/// <summary>
/// One peer of a WireGuard device: its key, endpoint (<c>IP:PORT</c>, null when none), allowed IPs, the
/// last handshake (null: never) and its persistent keepalive in seconds (0: off).
/// </summary>
public sealed record WireGuardPeer(string PublicKey, string? Endpoint, IReadOnlyList<string> AllowedIps, DateTimeOffset? LatestHandshake, int PersistentKeepalive);

/// <summary>One IPv4 address on a device (<c>ip -j addr</c>).</summary>
public sealed record AddressInfo(string Device, InterfaceAddress Address);

/// <summary>
/// One IPv4 route in the main table (<c>ip -j route</c>). <see cref="Destination"/> is null for default.
/// <see cref="Protocol"/> is the route's proto as printed (e.g. "kernel", "boot", "static", or a number).
/// </summary>
public sealed record RouteInfo(Ipv4Cidr? Destination, Ipv4Address? Gateway, string? Device, bool Onlink, string? Protocol);

/// <summary>One IPv4 neighbour entry (<c>ip -j neigh</c>).</summary>
public sealed record NeighborInfo(Ipv4Address Address, string Device, MacAddress? LinkAddress, bool Permanent);

/// <summary>One forwarding database entry (<c>bridge -j fdb</c>).</summary>
public sealed record FdbInfo(MacAddress Mac, string Device, Ipv4Address? Destination, bool Self, bool Permanent);

/// <summary>
/// <c>iptables-save</c> output, per table: chain policies (null for user chains) and rule lines
/// exactly as printed (<c>-A CHAIN ...</c>), in order.
/// </summary>
public sealed record IptablesState(IReadOnlyDictionary<string, IptablesTable> Tables)
{
    public static IptablesState Empty { get; } = new(new Dictionary<string, IptablesTable>());

    public IptablesTable Table(string name) => Tables.TryGetValue(name, out var t) ? t : IptablesTable.Empty;
}

/// <summary>One iptables table as saved.</summary>
public sealed record IptablesTable(IReadOnlyDictionary<string, string?> Chains, IReadOnlyList<string> Rules)
{
    public static IptablesTable Empty { get; } = new(new Dictionary<string, string?>(), []);

    public IEnumerable<string> RulesOf(string chain) => Rules.Where(r => r.StartsWith($"-A {chain} ", StringComparison.Ordinal));
}

/// <summary>Open vSwitch state from <c>ovs-vsctl --format=json list</c>; null on hosts without OVS.</summary>
public sealed record OvsState(IReadOnlyList<OvsBridge> Bridges)
{
    public OvsBridge? FindBridge(string name) => Bridges.FirstOrDefault(b => b.Name == name);
}

/// <summary>One OVS bridge, its ports and its <c>external_ids</c> (where overlayctl marks a bridge it made).</summary>
public sealed record OvsBridge(string Name, string? DatapathType, IReadOnlyList<OvsPort> Ports, IReadOnlyDictionary<string, string> ExternalIds)
{
    public OvsPort? FindPort(string name) => Ports.FirstOrDefault(p => p.Name == name);
}

/// <summary>One OVS port (single interface): type, options, requested MTU and the port's <c>protected</c> flag.</summary>
public sealed record OvsPort(string Name, string? Type, IReadOnlyDictionary<string, string> Options, int? Mtu, bool Protected);
