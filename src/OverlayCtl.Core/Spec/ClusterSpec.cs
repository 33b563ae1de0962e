using System.Net;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Core.Spec;

/// <summary>
/// A validated cluster spec with every default resolved. Code past the loader never sees an
/// unchecked name or address: what is here is safe to put on a command line.
/// </summary>
public sealed record ClusterSpec(
    string Name,
    EtcdSpec Etcd,
    NetworkSpec Network,
    DockerSpec Docker,
    IReadOnlyList<HostSpec> Hosts,
    string SourcePath)
{
    public HostSpec? FindHost(string name) => Hosts.FirstOrDefault(h => h.Name == name);

    /// <summary>Where the spec wrote the values later checks judge, for errors that point back at them.</summary>
    public SpecLocations Locations { get; init; } = SpecLocations.None;

    /// <summary>
    /// <c>leases.ttl</c>: the etcd TTL of leases agents take (kept alive while the agent runs, so the subnet of
    /// a host gone for good is freed); null for reservations, which apply always makes, as are pinned subnets.
    /// </summary>
    public TimeSpan? LeaseTtl { get; init; }

    /// <summary>The SHA-256 of the spec's text, so a saved plan can tell that the spec changed since.</summary>
    public string Digest { get; init; } = "";
}

/// <summary>Where the leases live.</summary>
public sealed record EtcdSpec(IReadOnlyList<Uri> Endpoints, string Prefix, TlsSpec? Tls)
{
    public const string DefaultPrefix = "/coreos.com/network";
}

/// <summary>Client TLS for etcd, as etcdctl's --cacert/--cert/--key. Credentials never live in the spec.</summary>
public sealed record TlsSpec(string? Ca, string? Cert, string? Key)
{
    /// <summary>Where <see cref="Ca"/> came from (a flag, a variable, a spec line), so an error about the file says what to change.</summary>
    public string CaSource { get; init; } = "etcd.tls.ca";

    /// <summary>Where <see cref="Cert"/> came from.</summary>
    public string CertSource { get; init; } = "etcd.tls.cert";

    /// <summary>Where <see cref="Key"/> came from.</summary>
    public string KeySource { get; init; } = "etcd.tls.key";
}

/// <summary>
/// The overlay network: its range, how it is cut into host subnets, and the backend with every
/// backend's settings (each backend reads its own keys; see <see cref="IBackend.ReadSpec"/>).
/// </summary>
public sealed record NetworkSpec(
    Ipv4Cidr Cidr,
    int SubnetLength,
    Ipv4Address SubnetMin,
    Ipv4Address SubnetMax,
    IBackend Backend,
    int? Mtu,
    bool IpMasq,
    IReadOnlyDictionary<string, BackendSettings> Settings)
{
    /// <summary>The overlay MTU on a host: the spec's, else the underlay's minus the backend's overhead.</summary>
    public int OverlayMtu(int underlayMtu) => Mtu ?? underlayMtu - Backend.Overhead;

    /// <summary>
    /// <c>network.ipv6</c>: the IPv6 half of a dual-stack overlay (flannel's EnableIPv6), or null for IPv4 only.
    /// An init property, so every IPv4-only spec reads and compares exactly as before.
    /// </summary>
    public Ipv6NetworkSpec? Ipv6 { get; init; }

    /// <summary>The settings the backend named <paramref name="backend"/> read from the spec; each backend offers a typed accessor over this.</summary>
    public T SettingsOf<T>(string backend) where T : BackendSettings => (T)Settings[backend];
}

/// <summary>
/// The IPv6 overlay, cut into host subnets as the IPv4 one is: <see cref="SubnetLength"/> (64 by default, as
/// flannel's IPv6SubnetLen) between <see cref="SubnetMin"/> and <see cref="SubnetMax"/>.
/// </summary>
public sealed record Ipv6NetworkSpec(IPNetwork Cidr, int SubnetLength, IPAddress SubnetMin, IPAddress SubnetMax);

/// <summary>What one backend read from the spec. Each backend's settings record lives in its folder.</summary>
public abstract record BackendSettings;

/// <summary>
/// What Docker consumes. Paths may contain <c>{host}</c>; null means "do not write". <see cref="Restart"/> is
/// the argument list apply runs on a host whose daemon.json it changed (dockerd reads the file only when it
/// starts); its arguments may contain <c>{host}</c> too; null: apply only says a restart is due.
/// </summary>
public sealed record DockerSpec(string Bridge, string? DaemonConfig, string? SubnetEnv, IReadOnlyList<string>? Restart = null)
{
    public string? DaemonConfigFor(HostSpec host) => ForHost(DaemonConfig, host);
    public string? SubnetEnvFor(HostSpec host) => ForHost(SubnetEnv, host);

    public IReadOnlyList<string>? RestartFor(HostSpec host) => Restart?.Select(a => ForHost(a, host)!).ToList();

    private static string? ForHost(string? text, HostSpec host) => text?.Replace("{host}", host.Name, StringComparison.Ordinal);
}

/// <summary>
/// One host of the cluster. <see cref="Address6"/> is its IPv6 underlay address (flannel's PublicIPv6), needed
/// when the network is dual-stack and kept otherwise, so a switch back to dual-stack needs no edit;
/// <see cref="Subnet6"/> its pinned IPv6 subnet.
/// </summary>
public sealed record HostSpec(
    string Name,
    Ipv4Address Address,
    string? Interface,
    Ipv4Cidr? Subnet,
    HostConnection Connection)
{
    public IPAddress? Address6 { get; init; }

    public IPNetwork? Subnet6 { get; init; }
}

/// <summary>How commands reach a host.</summary>
public abstract record HostConnection
{
    /// <summary>Commands run on this machine.</summary>
    public sealed record Local : HostConnection
    {
        public override string ToString() => "local";
    }

    /// <summary>Commands run through the system ssh client in BatchMode.</summary>
    public sealed record Ssh(string? User, string Host, int Port, string? IdentityFile) : HostConnection
    {
        /// <summary>
        /// <c>?sudo=true</c>: every command runs as <c>sudo -n -- PROGRAM ARGS</c>, for fleets that allow no root login (the
        /// user needs NOPASSWD sudo; <c>-n</c> fails at once instead of waiting for a password).
        /// </summary>
        public bool Sudo { get; init; }

        public override string ToString() => $"ssh://{(User is null ? "" : User + "@")}{Host}{(Port == 22 ? "" : ":" + Port)}{(Sudo ? "?sudo=true" : "")}";
    }

    /// <summary>Commands run with <c>ip netns exec NAME</c>: lab and CI hosts.</summary>
    public sealed record Netns(string Name) : HostConnection
    {
        public override string ToString() => $"netns://{Name}";
    }
}
