using System.Globalization;
using System.Net;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Verification;

/// <summary>
/// A short-lived stand-in for a container on one host, made as Docker makes one: its own network namespace,
/// a veth whose host end is a port of the docker bridge, an address from the host's lease and a default route
/// via the bridge's gateway, at the overlay MTU. Traffic between two probes takes the containers' path (bridge,
/// FORWARD, the overlay device, the peer's FORWARD and bridge), where a ping between hosts' gateways ends in INPUT.
/// <para>
/// Its address is the lease's last usable one (broadcast − 1): Docker hands out container addresses from the
/// bottom of its bip range, so it reaches that one last. Its names carry the run's token and the host's index,
/// so two runs never collide. This record only describes the probe; its commands are argument lists, which
/// the host side runs through the host's runner.
/// </para>
/// </summary>
public sealed record ContainerProbe(string Host, string Namespace, string HostVeth, string Bridge, Ipv4Cidr Subnet, int Mtu)
{
    /// <summary>
    /// On a dual-stack host: the lease's IPv6 subnet, where the probe takes its last address but one (the bridge holds
    /// the first), and the IPv6 path's MTU, which a full-size IPv6 echo tests (VXLAN over IPv6 costs 20 bytes more than
    /// over IPv4, so it may be below <see cref="Mtu"/>, where TCP adapts by path-MTU discovery).
    /// </summary>
    public Ipv6Side? Ipv6 { get; init; }

    /// <summary>What every probe namespace's name starts with, so a leftover (a run killed by SIGKILL) is recognisable.</summary>
    public const string NamespacePrefix = "ovlprobe-";

    /// <summary>How many lowercase hex digits a run's token has (<see cref="For"/>).</summary>
    public const int RunLength = 6;

    /// <summary>What every probe's host-side veth name starts with (then the run token and the host's index).</summary>
    private const string VethPrefix = "ovp";

    /// <summary>The probe's side of its veth, as Docker names a container's.</summary>
    public const string Interface = "eth0";

    /// <summary>How long one ping waits for its reply, in seconds; every probe command is bounded.</summary>
    public const int ReplySeconds = 2;

    public Ipv4Address Address => Subnet.Last.Add(-1);

    public Ipv4Address Gateway => Subnet.Gateway;

    /// <summary>The probe for host number <paramref name="index"/> of run <paramref name="run"/> (<see cref="RunLength"/> lowercase hex digits).</summary>
    public static ContainerProbe For(string run, int index, string host, Ipv4Cidr subnet, string bridge, int mtu)
    {
        var ns = string.Create(CultureInfo.InvariantCulture, $"{NamespacePrefix}{run}-{index}");
        var veth = string.Create(CultureInfo.InvariantCulture, $"{VethPrefix}{run}{index}");
        if (run.Length != RunLength || !run.All(char.IsAsciiHexDigitLower) || !Names.IsNetnsName(ns) || !Names.IsInterfaceName(veth))
            throw new ArgumentException($"run token '{run}' with host index {index} gives unusable probe names {ns}, {veth}", nameof(run));
        if (subnet.PrefixLength > 30)
            throw new ArgumentException($"{subnet} has no address left for a probe beside its gateway", nameof(subnet));
        return new ContainerProbe(host, ns, veth, bridge, subnet, mtu);
    }

    /// <summary>
    /// The probe an earlier run left on <paramref name="bridge"/> (killed outright, it could not remove it), from the name
    /// of a port of the bridge: <c>ovp</c>, a run token, the host's index. Its namespace holds the address the next probe
    /// takes, so it is removed first. Null for any other port.
    /// </summary>
    public static ContainerProbe? Leftover(string host, string port, string bridge)
    {
        if (!port.StartsWith(VethPrefix, StringComparison.Ordinal) || port.Length <= VethPrefix.Length + RunLength) return null;
        var run = port.Substring(VethPrefix.Length, RunLength);
        var index = port[(VethPrefix.Length + RunLength)..];
        if (!run.All(char.IsAsciiHexDigitLower) || !index.All(char.IsAsciiDigit) || (index.Length > 1 && index[0] == '0')) return null;
        return new ContainerProbe(host, $"{NamespacePrefix}{run}-{index}", port, bridge, default, 0);
    }

    /// <summary>Makes the namespace, the veth into the bridge, the address and the default route: three processes.</summary>
    public IReadOnlyList<CommandSpec> Create() =>
    [
        CommandSpec.Of("ip", "netns", "add", Namespace),
        new("ip", ["-batch", "-"], Batch(
            $"link add {HostVeth} mtu {Mtu} type veth peer name {Interface} mtu {Mtu} netns {Namespace}",
            $"link set {HostVeth} master {Bridge} up")),
        In(new("ip", ["-batch", "-"], Batch(
        [
            $"addr add {Address}/{Subnet.PrefixLength} dev {Interface}",
            .. Ipv6 is { } v6 ? [$"addr add {v6.Address}/{v6.Subnet.PrefixLength} dev {Interface} nodad"] : Array.Empty<string>(),
            $"link set {Interface} up",
            $"route add default via {Gateway}",
            .. Ipv6 is { } w6 ? [$"route add ::/0 via {w6.Gateway}"] : Array.Empty<string>(),
        ]))),
    ];

    /// <summary>
    /// Removes the probe; each step may fail harmlessly when creation stopped before it. The veth goes first
    /// and at once: a deleted namespace takes its devices with it only asynchronously.
    /// </summary>
    public IReadOnlyList<CommandSpec> Remove() =>
    [
        CommandSpec.Of("ip", "link", "del", HostVeth),
        CommandSpec.Of("ip", "netns", "del", Namespace),
    ];

    /// <summary>One ICMP echo to <paramref name="target"/>; with a size, don't-fragment at that payload size (<c>-q</c> would hide <c>mtu=N</c>).</summary>
    public CommandSpec Ping(Ipv4Address target, int? payload = null) => In(HostPing(target, payload));

    /// <summary>One ICMPv6 echo to <paramref name="target"/>, as <see cref="Ping"/>.</summary>
    public CommandSpec Ping6(IPAddress target, int? payload = null) => In(payload is { } size
        ? CommandSpec.Of("ping", "-6", "-n", "-c", "1", "-W", Seconds(ReplySeconds), "-M", "do", "-s", size.ToString(CultureInfo.InvariantCulture), target.ToString())
        : CommandSpec.Of("ping", "-6", "-n", "-c", "1", "-W", Seconds(ReplySeconds), target.ToString()));

    /// <summary>Accepts one TCP connection on the probe's address (IPv6 with <paramref name="ipv6"/>) and prints what arrives; gives up after <paramref name="seconds"/>.</summary>
    public CommandSpec Listen(int port, int seconds, bool ipv6 = false) =>
        In(CommandSpec.Of("timeout", Seconds(seconds), "socat", "-u", ipv6
            ? string.Create(CultureInfo.InvariantCulture, $"TCP6-LISTEN:{port},bind=[{Ipv6!.Address}],reuseaddr")
            : string.Create(CultureInfo.InvariantCulture, $"TCP-LISTEN:{port},bind={Address},reuseaddr"), "STDOUT"));

    /// <summary>Sends <paramref name="payload"/> to a listening probe, retrying the connect while the listener starts; bounded by <paramref name="seconds"/>.</summary>
    public CommandSpec Send(Ipv4Address target, int port, string payload, int seconds) =>
        Send(string.Create(CultureInfo.InvariantCulture, $"TCP:{target}:{port}"), payload, seconds);

    /// <summary>As <see cref="Send(Ipv4Address, int, string, int)"/>, over IPv6.</summary>
    public CommandSpec Send(IPAddress target, int port, string payload, int seconds) =>
        Send(string.Create(CultureInfo.InvariantCulture, $"TCP6:[{target}]:{port}"), payload, seconds);

    private CommandSpec Send(string address, string payload, int seconds) =>
        In(new CommandSpec("timeout", [Seconds(seconds), "socat", "-u", "STDIN", address + ",connect-timeout=1,retry=10,interval=0.1"], payload));

    /// <summary>The ping a host itself sends (the underlay column), or a probe through <see cref="Ping"/>.</summary>
    public static CommandSpec HostPing(Ipv4Address target, int? payload = null) => payload is { } size
        ? CommandSpec.Of("ping", "-n", "-c", "1", "-W", Seconds(ReplySeconds), "-M", "do", "-s", size.ToString(CultureInfo.InvariantCulture), target.ToString())
        : CommandSpec.Of("ping", "-n", "-c", "1", "-W", Seconds(ReplySeconds), target.ToString());

    private CommandSpec In(CommandSpec command) => command with { Program = "ip", Arguments = ["netns", "exec", Namespace, command.Program, .. command.Arguments] };

    private static string Seconds(int seconds) => seconds.ToString(CultureInfo.InvariantCulture);

    private static string Batch(params string[] lines) => string.Join('\n', lines) + "\n";
}

/// <summary>A probe's IPv6 side: its lease's IPv6 subnet and the IPv6 path's MTU.</summary>
public sealed record Ipv6Side(IPNetwork Subnet, int Mtu)
{
    /// <summary>The subnet's last address but one: as far from Docker's first handouts as the IPv4 probe's.</summary>
    public IPAddress Address => Net.Ipv6.FromNumber(Net.Ipv6.ToNumber(Subnet.BaseAddress) + ((UInt128.One << (128 - Subnet.PrefixLength)) - 2));

    /// <summary>The bridge's address, the subnet's first (<c>::1</c>).</summary>
    public IPAddress Gateway => Net.Ipv6.Gateway(Subnet);
}
