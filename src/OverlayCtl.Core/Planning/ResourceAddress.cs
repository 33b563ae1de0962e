using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Planning;

/// <summary>The kinds of things overlayctl manages on a host.</summary>
public enum ResourceKind
{
    /// <summary>A network device (<c>ip link</c>), by name.</summary>
    Link,

    /// <summary>An address on a device: <c>10.244.1.0/32 on flannel.1</c>.</summary>
    Address,

    /// <summary>A permanent neighbour entry on the VXLAN device, by IP address.</summary>
    Neighbour,

    /// <summary>A forwarding database entry on the VXLAN device, by MAC.</summary>
    FdbEntry,

    /// <summary>A route, by destination.</summary>
    Route,

    /// <summary>A kernel setting, by key.</summary>
    Sysctl,

    /// <summary>One of overlayctl's iptables chains: <c>TABLE CHAIN</c>.</summary>
    IptablesChain,

    /// <summary>The comment-tagged jump into overlayctl's chain: <c>TABLE PARENT</c>.</summary>
    IptablesJump,

    /// <summary>A file on the host, by path.</summary>
    File,

    /// <summary>An Open vSwitch bridge, by name.</summary>
    OvsBridge,

    /// <summary>An Open vSwitch port (a peer's tunnel), by name.</summary>
    OvsPort,

    /// <summary>A peer of a tunnel device that keeps its own peer table (WireGuard), by the peer's public key.</summary>
    Peer,

    /// <summary>A daemon overlayctl started on the host (wireguard-go), by its pid file.</summary>
    Process,
}

/// <summary>
/// What an operation acts on: a kind and a name, plus the <see cref="Attribute"/> of that resource when the
/// operation sets one thing of it (a link's alias, up state or MTU; a bridge's datapath or MTU). Status and
/// doctor count by kind; <see cref="ToString"/> is the name people read in plans ("route 10.244.2.0/24").
/// </summary>
public sealed record ResourceAddress(ResourceKind Kind, string Name, string? Attribute = null)
{
    public static ResourceAddress Link(string device, string? attribute = null) => new(ResourceKind.Link, device, attribute);

    public static ResourceAddress Address(InterfaceAddress address, string device) => new(ResourceKind.Address, $"{address} on {device}");

    public static ResourceAddress Neighbour(Ipv4Address address) => new(ResourceKind.Neighbour, address.ToString());

    public static ResourceAddress Fdb(MacAddress mac) => new(ResourceKind.FdbEntry, mac.Text);

    public static ResourceAddress Route(Ipv4Cidr destination) => new(ResourceKind.Route, destination.ToString());

    public static ResourceAddress Address6(System.Net.IPAddress address, int prefixLength, string device) => new(ResourceKind.Address, $"{address}/{prefixLength} on {device}");

    public static ResourceAddress Neighbour6(System.Net.IPAddress address) => new(ResourceKind.Neighbour, address.ToString());

    public static ResourceAddress Route6(System.Net.IPNetwork destination) => new(ResourceKind.Route, destination.ToString());

    public static ResourceAddress Sysctl(string key) => new(ResourceKind.Sysctl, key);

    /// <summary>One of overlayctl's chains; an ip6tables one carries the attribute <c>ipv6</c> (<c>iptables filter OVERLAYCTL-FWD ipv6</c>).</summary>
    public static ResourceAddress IptablesChain(string table, string chain, bool ipv6 = false) => new(ResourceKind.IptablesChain, $"{table} {chain}", ipv6 ? "ipv6" : null);

    public static ResourceAddress IptablesJump(string table, string parent, bool ipv6 = false) => new(ResourceKind.IptablesJump, $"{table} {parent}", ipv6 ? "ipv6" : null);

    public static ResourceAddress File(string path) => new(ResourceKind.File, path);

    public static ResourceAddress OvsBridge(string bridge, string? attribute = null) => new(ResourceKind.OvsBridge, bridge, attribute);

    public static ResourceAddress OvsPort(string port) => new(ResourceKind.OvsPort, port);

    public static ResourceAddress Peer(string device, string publicKey) => new(ResourceKind.Peer, $"{publicKey} on {device}");

    public static ResourceAddress Process(string pidFile) => new(ResourceKind.Process, pidFile);

    /// <summary>The kind as <c>-o json</c> spells it (<c>type</c>).</summary>
    public string Type => Kind switch
    {
        ResourceKind.Link => "link",
        ResourceKind.Address => "address",
        ResourceKind.Neighbour => "neighbour",
        ResourceKind.FdbEntry => "fdb",
        ResourceKind.Route => "route",
        ResourceKind.Sysctl => "sysctl",
        ResourceKind.IptablesChain => "iptables-chain",
        ResourceKind.IptablesJump => "iptables-jump",
        ResourceKind.File => "file",
        ResourceKind.OvsBridge => "ovs-bridge",
        ResourceKind.OvsPort => "ovs-port",
        ResourceKind.Peer => "peer",
        _ => "process",
    };

    /// <summary>The resource as plans have always named it.</summary>
    public override string ToString()
    {
        var text = Kind switch
        {
            ResourceKind.Neighbour => $"neigh {Name}",
            ResourceKind.FdbEntry => $"fdb {Name}",
            ResourceKind.IptablesChain => $"iptables {Name}",
            ResourceKind.IptablesJump => $"iptables {Name} jump",
            ResourceKind.OvsBridge => $"ovs bridge {Name}",
            ResourceKind.OvsPort => $"ovs port {Name}",
            _ => $"{Type} {Name}",
        };
        return Attribute is null ? text : $"{text} {Attribute}";
    }
}
