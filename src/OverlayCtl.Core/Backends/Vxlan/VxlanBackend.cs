using System.Globalization;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using static OverlayCtl.Core.Planning.Ops;

namespace OverlayCtl.Core.Backends.Vxlan;

/// <summary>
/// flannel's VXLAN data path: one <c>flannel.VNI</c> device (flannel's name, so a flannel node
/// interoperates) with a fixed VTEP MAC, and per peer a permanent neighbour, fdb entry and onlink route.
/// With directRouting, on-link peers get a plain route via their underlay address instead (IPv6 peers too,
/// via their address6, when it is on-link).
/// The device carries overlayctl's alias: a <c>flannel.N</c> left behind by a VNI change is removed only
/// when it has it (one flannel or an operator made is reported by doctor, never touched).
/// </summary>
public sealed class VxlanBackend : IBackend
{
    /// <summary>The spec's spelling.</summary>
    public const string BackendName = "vxlan";

    private const string DevicePrefix = "flannel.";

    public string Name => BackendName;

    public string LeaseType => "vxlan";

    public IReadOnlyList<string> NetworkKeys { get; } = ["vni", "port", "directRouting", "vxlan"];

    public bool SupportsIpv6 => true;

    public int Ipv6Overhead => Overhead6;

    public int Overhead => 50;

    public IReadOnlyList<DoctorCheck> Checks { get; } =
    [
        VxlanPortCheck.Check,
        new("vtep-mac", "the VXLAN device's MAC is the one in the lease (peers' fdb entries point at it); flannel-v6's, the lease's IPv6 one"),
        new("peers", "every peer has its neighbour, fdb entry and route, pointing at the right addresses (on a dual-stack overlay, over flannel-v6 too)"),
        new("checksum-offload", "the VXLAN device's tx checksum offload is as network.vxlan.txChecksumOffload says (when the spec sets it)"),
        new("stale-device", "no flannel.N VXLAN device is left from an earlier VNI"),
    ];

    /// <summary>The VXLAN settings of a spec, whichever backend it selects (ovs tunnels use the VNI and port too).</summary>
    public static VxlanSettings SettingsOf(ClusterSpec spec) => spec.Network.SettingsOf<VxlanSettings>(BackendName);

    public static string DeviceName(ClusterSpec spec) => DevicePrefix + SettingsOf(spec).Vni.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A <c>flannel.N</c> VXLAN device for another VNI than the spec's, as a VNI change leaves behind.
    /// <paramref name="marked"/>: only those carrying overlayctl's alias (the ones it may remove).
    /// </summary>
    public static IEnumerable<LinkInfo> StaleDevices(ClusterSpec spec, ObservedHost observed, bool marked) =>
        observed.Links.Where(l => l.Kind == "vxlan" && l.Name != DeviceName(spec) && IsDeviceName(l.Name) && (!marked || l.Alias == Planner.Comment));

    private static bool IsDeviceName(string name) =>
        name.StartsWith(DevicePrefix, StringComparison.Ordinal) && name.Length > DevicePrefix.Length && name[DevicePrefix.Length..].All(char.IsAsciiDigit);

    public BackendSettings ReadSpec(BackendSpecContext context) => VxlanSettings.Read(context);

    public string? Device(ClusterSpec spec) => DeviceName(spec);

    public LeaseData LeaseData(ClusterSpec spec, HostSpec host, ObservedHost? observed) => new(SettingsOf(spec).Vni, MacAddress.ForVtep(spec.Network.Cidr, host.Address))
    {
        VtepMac6 = spec.Network.Ipv6 is { } v6 && host.Address6 is { } a6 ? MacAddress.ForVtep6(v6.Cidr, a6) : null,
    };

    public IReadOnlyList<HostRead> LeaseReads(ClusterSpec spec, HostSpec host) => [];

    public IEnumerable<Operation> PrepareLease(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public IEnumerable<Operation> RotateKeys(ClusterSpec spec, HostSpec host, ObservedHost observed) => [];

    public ConfigData ConfigData(ClusterSpec spec) => new(SettingsOf(spec).Vni, SettingsOf(spec).Port);

    public IEnumerable<HostRead> Reads(ClusterSpec spec, HostSpec host, bool selected) =>
        selected && SettingsOf(spec).TxChecksumOffload is not null ? [new HostRead.TxChecksumOffload(DeviceName(spec))] : [];

    /// <summary>
    /// flannel issue 1279: behind some NATs and NICs the kernel sends VXLAN packets with a bad inner
    /// checksum that the receiver drops (pings pass, TCP stalls); flannel's fix is offload off on flannel.1.
    /// </summary>
    private static Operation? Offload(string device, bool? wanted, bool? observed, bool fresh)
    {
        if (wanted is not { } on || (!fresh && observed == on)) return null;
        var step = new CommandStep(CommandSpec.Of("ethtool", "-K", device, "tx-checksum-ip-generic", on ? "on" : "off"));
        var operation = new Operation(fresh ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Link(device, "tx-checksum-offload"), step);
        return fresh ? operation : operation.Shows(observed switch { true => "on", false => "off", null => "unknown" }, on ? "on" : "off");
    }

    public IEnumerable<string> OwnedDevices(ClusterSpec spec, ObservedHost observed) =>
        [DeviceName(spec), Device6Name(spec), .. StaleDevices(spec, observed, marked: true).Select(l => l.Name)];

    /// <summary>flannel's IPv6 VXLAN device, <c>flannel-v6.VNI</c>: a second device over the IPv6 underlay, same VNI and port.</summary>
    public static string Device6Name(ClusterSpec spec) => Ipv6Traces.DevicePrefix + SettingsOf(spec).Vni.ToString(CultureInfo.InvariantCulture);

    /// <summary>Bytes of VXLAN over IPv6 per packet: 40 (IPv6) + 8 (UDP) + 8 (VXLAN) + 14 (inner Ethernet).</summary>
    public const int Overhead6 = 70;

    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var device = DeviceName(spec);
        if (observed.FindLink(device) is { Kind: "vxlan" }) yield return Ip(ChangeKind.Remove, ResourceAddress.Link(device), "link", "del", device);
        if (observed.FindLink(Device6Name(spec)) is { Kind: "vxlan" }) yield return Ip(ChangeKind.Remove, ResourceAddress.Link(Device6Name(spec)), "link", "del", Device6Name(spec));
        foreach (var stale in StaleDevices(spec, observed, marked: true)) yield return Ip(ChangeKind.Remove, ResourceAddress.Link(stale.Name), "link", "del", stale.Name);
    }

    public BackendState Converge(BackendContext c)
    {
        var spec = c.Spec;
        var vx = SettingsOf(spec);
        var device = DeviceName(spec);
        var mac = c.Lease.VtepMac ?? MacAddress.ForVtep(spec.Network.Cidr, c.Host.Address);
        var mtu = c.Mtu.ToString(CultureInfo.InvariantCulture);
        var vanishing = new HashSet<string>(StringComparer.Ordinal);
        var ops = new List<Operation>();

        // A VNI change leaves the old device (and its routes, neighbours, VTEP address): ours go first.
        foreach (var stale in StaleDevices(spec, c.Observed, marked: true))
        {
            ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Link(stale.Name), "link", "del", stale.Name));
            vanishing.Add(stale.Name);
        }

        var link = c.Observed.FindLink(device);
        var compatible = link is { Kind: "vxlan", Vxlan: { } v }
            && v.Id == vx.Vni && v.Local == c.Host.Address && v.Device == c.Underlay.Interface
            && v.Port == vx.Port && !v.Learning && link.Mac == mac;
        var fresh = link is null || !compatible;
        if (fresh)
        {
            var add = new IpStep(["link", "add", device, "address", mac.Text, "mtu", mtu, "type", "vxlan",
                "id", vx.Vni.ToString(CultureInfo.InvariantCulture), "dev", c.Underlay.Interface,
                "local", c.Host.Address.ToString(), "dstport", vx.Port.ToString(CultureInfo.InvariantCulture), "nolearning"]);
            // None of these can be changed on a live VXLAN device: a wrong one is deleted and made again.
            ops.Add(link is null
                ? new Operation(ChangeKind.Add, ResourceAddress.Link(device), add)
                : Replace(ResourceAddress.Link(device), new IpStep(["link", "del", device]), add).Shows(Incompatible(link, vx, c, mac)));
            vanishing.Add(device);
        }
        else if (link!.Mtu != c.Mtu)
        {
            ops.Add(Ip(ChangeKind.Change, ResourceAddress.Link(device, "mtu"), "link", "set", "dev", device, "mtu", mtu).Shows(link.Mtu.ToString(CultureInfo.InvariantCulture), mtu));
        }
        // The alias is overlayctl's mark: what proves a flannel.N is ours once the VNI has moved on.
        var alias = Ip(fresh ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Link(device, "alias"), "link", "set", "dev", device, "alias", Planner.Comment);
        if (fresh) ops.Add(alias);
        else if (link!.Alias != Planner.Comment) ops.Add(alias.Shows(link.Alias ?? "(none)", Planner.Comment));

        if (Offload(device, vx.TxChecksumOffload, c.Observed.TxChecksumOffload.TryGetValue(device, out var on) ? on : null, fresh) is { } offload) ops.Add(offload);

        var vtepAddress = new InterfaceAddress(c.Lease.Subnet.Network, 32);
        var addresses = fresh ? [] : c.Observed.AddressesOf(device).ToList();
        foreach (var stale in addresses.Where(a => a != vtepAddress))
            ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Address(stale, device), "addr", "del", stale.ToString(), "dev", device));
        if (!addresses.Contains(vtepAddress))
            ops.Add(Planner.AddressChange(Ip(ChangeKind.Add, ResourceAddress.Address(vtepAddress, device), "addr", "add", vtepAddress.ToString(), "dev", device), addresses, vtepAddress));
        if (fresh) ops.Add(Ip(ChangeKind.Add, ResourceAddress.Link(device, "up"), "link", "set", device, "up"));
        else if (!link!.Up) ops.Add(Ip(ChangeKind.Change, ResourceAddress.Link(device, "up"), "link", "set", device, "up").Shows("down", "up"));

        var routes = new List<DesiredRoute>();
        var neighbors = new List<Operation>();
        var fdb = new List<Operation>();
        var wantedNeighbors = new HashSet<Ipv4Address>();
        var wantedMacs = new HashSet<MacAddress>();
        var observedNeighbors = fresh ? [] : c.Observed.Neighbors.Where(n => n.Device == device).ToList();
        var observedFdb = fresh ? [] : c.Observed.Fdb.Where(f => f.Device == device && f.Self).ToList();
        // Lookups by key keep a converged host with thousands of peers linear, not quadratic.
        var underlayRoutes = vx.DirectRouting ? Underlay.UnderlayRoutes(c.Observed, spec.Network.Cidr) : [];
        var neighborByAddress = observedNeighbors.GroupBy(n => n.Address).ToDictionary(g => g.Key, g => g.First());
        var fdbByMac = observedFdb.GroupBy(f => f.Mac).ToDictionary(g => g.Key, g => g.First());
        foreach (var peer in c.Peers.OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            if (vx.DirectRouting && Underlay.IsOnLink(underlayRoutes, lease.PublicIp))
            {
                routes.Add(new DesiredRoute(lease.Subnet, lease.PublicIp, c.Underlay.Interface, Onlink: false));
                continue;
            }
            if (lease.VtepMac is not { } peerMac) continue;
            var vtep = lease.Subnet.Network;
            wantedNeighbors.Add(vtep);
            wantedMacs.Add(peerMac);
            if (!(neighborByAddress.TryGetValue(vtep, out var n) && n.LinkAddress == peerMac && n.Permanent))
                neighbors.Add(Ip(ChangeKind.Add, ResourceAddress.Neighbour(vtep), "neigh", "replace", vtep.ToString(), "dev", device, "lladdr", peerMac.Text, "nud", "permanent"));
            if (!(fdbByMac.TryGetValue(peerMac, out var f) && f.Destination == lease.PublicIp && f.Permanent))
                fdb.Add(Bridge(ChangeKind.Add, ResourceAddress.Fdb(peerMac), "fdb", "replace", peerMac.Text, "dev", device, "self", "dst", lease.PublicIp.ToString(), "permanent"));
            routes.Add(new DesiredRoute(lease.Subnet, vtep, device, Onlink: true));
        }
        var staleNeighbors = observedNeighbors.Where(n => !wantedNeighbors.Contains(n.Address))
            .Select(n => Ip(ChangeKind.Remove, ResourceAddress.Neighbour(n.Address), "neigh", "del", n.Address.ToString(), "dev", device));
        var staleFdb = observedFdb.Where(f => !wantedMacs.Contains(f.Mac) && f.Destination is not null)
            .Select(f => Bridge(ChangeKind.Remove, ResourceAddress.Fdb(f.Mac), "fdb", "del", f.Mac.Text, "dev", device, "self", "dst", f.Destination!.Value.ToString()));
        var (ops6, routes6) = Converge6(c, vx, vanishing);
        return new BackendState([.. ops, .. staleNeighbors, .. neighbors, .. staleFdb, .. fdb, .. ops6], routes, vanishing.Count > 0 ? vanishing : null) { Routes6 = routes6 };
    }

    /// <summary>
    /// The IPv6 half, as flannel's vxlan does it: <c>flannel-v6.VNI</c> over the host's address6 with the lease's IPv6 MAC,
    /// MTU underlay − 70, the IPv6 subnet's own address as a /128, and per dual-stack peer a permanent neighbour, an fdb
    /// entry to its PublicIPv6 and an onlink route. With directRouting a peer whose PublicIPv6 is on-link (the longest
    /// IPv6 underlay route to it has no gateway, flannel's test) gets a plain route via that address instead, and no
    /// neighbour or fdb entry (a stale one is removed). On an IPv4-only network a device left from dual-stack is removed
    /// (its routes go with it).
    /// </summary>
    private static (List<Operation> Ops, List<DesiredRoute6> Routes) Converge6(BackendContext c, VxlanSettings vx, HashSet<string> vanishing)
    {
        var ops = new List<Operation>();
        var routes = new List<DesiredRoute6>();
        var device = Device6Name(c.Spec);
        var link = c.Observed.FindLink(device);
        if (c.Spec.Network.Ipv6 is not { } network6 || c.Lease.Subnet6 is not { } subnet6 || c.Host.Address6 is not { } local)
        {
            if (link is { Kind: "vxlan" })
            {
                ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Link(device), "link", "del", device));
                vanishing.Add(device);
            }
            return (ops, routes);
        }
        var v6 = c.Observed.Ipv6 ?? Ipv6State.Empty;
        var mac = c.Lease.VtepMac6 ?? MacAddress.ForVtep6(network6.Cidr, local);
        var mtuValue = c.Spec.Network.Mtu ?? c.Underlay.Mtu - Overhead6;
        var mtu = mtuValue.ToString(CultureInfo.InvariantCulture);
        var compatible = link is { Kind: "vxlan", Vxlan: { } v }
            && v.Id == vx.Vni && local.Equals(v.Local6) && v.Device == c.Underlay.Interface
            && v.Port == vx.Port && !v.Learning && link.Mac == mac;
        var fresh = link is null || !compatible;
        if (fresh)
        {
            var add = new IpStep(["link", "add", device, "address", mac.Text, "mtu", mtu, "type", "vxlan",
                "id", vx.Vni.ToString(CultureInfo.InvariantCulture), "dev", c.Underlay.Interface,
                "local", local.ToString(), "dstport", vx.Port.ToString(CultureInfo.InvariantCulture), "nolearning"]);
            ops.Add(link is null
                ? new Operation(ChangeKind.Add, ResourceAddress.Link(device), add)
                : Replace(ResourceAddress.Link(device), new IpStep(["link", "del", device]), add).Shows(link.Vxlan?.Local6?.ToString() ?? "(incompatible)", $"local {local}, id {vx.Vni}, address {mac}"));
            vanishing.Add(device);
        }
        else if (link!.Mtu != mtuValue)
        {
            ops.Add(Ip(ChangeKind.Change, ResourceAddress.Link(device, "mtu"), "link", "set", "dev", device, "mtu", mtu).Shows(link.Mtu.ToString(CultureInfo.InvariantCulture), mtu));
        }
        var alias = Ip(fresh ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.Link(device, "alias"), "link", "set", "dev", device, "alias", Planner.Comment);
        if (fresh) ops.Add(alias);
        else if (link!.Alias != Planner.Comment) ops.Add(alias.Shows(link.Alias ?? "(none)", Planner.Comment));

        // flannel gives the device the IPv6 subnet's own address as a /128; nodad: no duplicate detection delay.
        var vtep = subnet6.BaseAddress;
        var present = fresh ? [] : v6.AddressesOf(device).ToList();
        foreach (var stale in present.Where(a => !(a.Address.Equals(vtep) && a.PrefixLength == 128)))
            ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Address6(stale.Address, stale.PrefixLength, device), "addr", "del", stale.ToString(), "dev", device));
        if (!present.Any(a => a.Address.Equals(vtep) && a.PrefixLength == 128))
            ops.Add(Ip(ChangeKind.Add, ResourceAddress.Address6(vtep, 128, device), "addr", "add", $"{vtep}/128", "dev", device, "nodad"));
        if (fresh) ops.Add(Ip(ChangeKind.Add, ResourceAddress.Link(device, "up"), "link", "set", device, "up"));
        else if (!link!.Up) ops.Add(Ip(ChangeKind.Change, ResourceAddress.Link(device, "up"), "link", "set", device, "up").Shows("down", "up"));

        var neighbors = fresh ? [] : v6.Neighbors.Where(n => n.Device == device).ToList();
        var fdb = fresh ? [] : v6.Fdb.Where(f => f.Device == device).ToList();
        var wantedNeighbors = new HashSet<System.Net.IPAddress>();
        var wantedMacs = new HashSet<MacAddress>();
        var neighborOps = new List<Operation>();
        var fdbOps = new List<Operation>();
        var underlayRoutes = vx.DirectRouting ? Underlay.UnderlayRoutes6(v6, network6.Cidr) : [];
        foreach (var peer in c.Peers.Where(p => p.Lease.Subnet6 is not null).OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            if (vx.DirectRouting && lease.PublicIpv6 is { } direct && Underlay.IsOnLink(underlayRoutes, direct))
            {
                routes.Add(new DesiredRoute6(lease.Subnet6!.Value, direct, c.Underlay.Interface, Onlink: false));
                continue;
            }
            if (lease.VtepMac6 is not { } peerMac || lease.PublicIpv6 is not { } peerAddress) continue;
            var peerVtep = lease.Subnet6!.Value.BaseAddress;
            wantedNeighbors.Add(peerVtep);
            wantedMacs.Add(peerMac);
            if (!neighbors.Any(n => n.Address.Equals(peerVtep) && n.LinkAddress == peerMac && n.Permanent))
                neighborOps.Add(Ip(ChangeKind.Add, ResourceAddress.Neighbour6(peerVtep), "neigh", "replace", peerVtep.ToString(), "dev", device, "lladdr", peerMac.Text, "nud", "permanent"));
            if (!fdb.Any(f => f.Mac == peerMac && f.Destination.Equals(peerAddress) && f.Permanent))
                fdbOps.Add(Bridge(ChangeKind.Add, ResourceAddress.Fdb(peerMac), "fdb", "replace", peerMac.Text, "dev", device, "self", "dst", peerAddress.ToString(), "permanent"));
            routes.Add(new DesiredRoute6(lease.Subnet6!.Value, peerVtep, device, Onlink: true));
        }
        ops.AddRange(neighbors.Where(n => !wantedNeighbors.Contains(n.Address))
            .Select(n => Ip(ChangeKind.Remove, ResourceAddress.Neighbour6(n.Address), "neigh", "del", n.Address.ToString(), "dev", device)));
        ops.AddRange(neighborOps);
        ops.AddRange(fdb.Where(f => !wantedMacs.Contains(f.Mac))
            .Select(f => Bridge(ChangeKind.Remove, ResourceAddress.Fdb(f.Mac), "fdb", "del", f.Mac.Text, "dev", device, "self", "dst", f.Destination.ToString())));
        ops.AddRange(fdbOps);
        return (ops, routes);
    }

    /// <summary>What makes a live VXLAN device unusable as it is, before and after (<c>id 1, dstport 8472</c> → <c>id 2, dstport 8472</c>).</summary>
    private static (string Before, string After) Incompatible(LinkInfo link, VxlanSettings vx, BackendContext c, MacAddress mac)
    {
        var v = link.Vxlan;
        var fields = new (string Name, string? Now, string Wanted)[]
        {
            ("kind", link.Kind ?? "(none)", "vxlan"),
            ("id", v?.Id.ToString(CultureInfo.InvariantCulture), vx.Vni.ToString(CultureInfo.InvariantCulture)),
            ("local", v?.Local?.ToString(), c.Host.Address.ToString()),
            ("dev", v?.Device, c.Underlay.Interface),
            ("dstport", v?.Port.ToString(CultureInfo.InvariantCulture), vx.Port.ToString(CultureInfo.InvariantCulture)),
            ("learning", v is null ? null : v.Learning ? "on" : "off", "off"),
            ("address", link.Mac?.Text, mac.Text),
        }.Where(f => f.Now != f.Wanted).ToList();
        return (string.Join(", ", fields.Select(f => $"{f.Name} {f.Now ?? "(none)"}")), string.Join(", ", fields.Select(f => $"{f.Name} {f.Wanted}")));
    }

    public BackendStatus Status(ClusterSpec spec, Lease lease, ObservedHost observed, HostPlan plan)
    {
        var device = DeviceName(spec);
        var state = BackendStatus.LinkState(observed, device);
        if (state == "up" && observed.FindLink(device)!.Mac != lease.VtepMac) state = "wrong-mac";
        var status = new BackendStatus(device, state, BackendStatus.Wanting(plan, ResourceKind.Route));
        if (spec.Network.Ipv6 is null || lease.Subnet6 is null) return status;
        // flannel-v6 has its own MAC (the lease's BackendV6Data): peers' IPv6 fdb entries point at it.
        var device6 = Device6Name(spec);
        var state6 = BackendStatus.LinkState(observed, device6);
        if (state6 == "up" && lease.VtepMac6 is { } mac6 && observed.FindLink(device6)!.Mac != mac6) state6 = "wrong-mac";
        return status with { Device6 = device6, Device6State = state6 };
    }

    public IEnumerable<Finding> Check(DoctorContext context)
    {
        var (spec, lease, peers, observed) = (context.Input.Spec, context.Input.Lease, context.Input.Peers, context.Input.Observed);
        var vx = SettingsOf(spec);
        var findings = VxlanPortCheck.Run(context, vx.Port).ToList();
        var device = DeviceName(spec);
        if (observed.FindLink(device) is { } link)
        {
            if (lease.VtepMac is { } leaseMac && link.Mac != leaseMac)
                findings.Add(context.Finding("vtep-mac", Severity.Error, $"{device} has MAC {link.Mac} but the lease says {leaseMac}: every peer's fdb entry points at the old MAC (udev or NetworkManager changed it?)", $"overlayctl apply (recreates {device} with the lease's MAC); mark it unmanaged for NetworkManager/systemd-networkd"));
            findings.AddRange(CheckPeers(context, vx, device, peers, observed));
            if (vx.TxChecksumOffload is { } wanted && observed.TxChecksumOffload.TryGetValue(device, out var on) && on != wanted)
                findings.Add(context.Finding("checksum-offload", Severity.Warning,
                    $"tx checksum offload is {(on ? "on" : "off")} for {device}, but network.vxlan.txChecksumOffload is {(wanted ? "true" : "false")}",
                    $"overlayctl apply (runs ethtool -K {device} tx-checksum-ip-generic {(wanted ? "on" : "off")})"));
        }
        if (spec.Network.Ipv6 is { } network6 && lease.Subnet6 is not null && observed.Ipv6 is { } v6 && observed.FindLink(Device6Name(spec)) is { } link6)
        {
            var device6 = link6.Name;
            if (lease.VtepMac6 is { } leaseMac6 && link6.Mac != leaseMac6)
                findings.Add(context.Finding("vtep-mac", Severity.Error, $"{device6} has MAC {link6.Mac} but the lease says {leaseMac6} (BackendV6Data): every peer's IPv6 fdb entry points at the old MAC (udev or NetworkManager changed it?)", $"overlayctl apply (recreates {device6} with the lease's IPv6 MAC); mark it unmanaged for NetworkManager/systemd-networkd"));
            findings.AddRange(CheckPeers6(context, vx, device6, network6.Cidr, peers, v6));
        }
        foreach (var stale in StaleDevices(spec, observed, marked: false))
            findings.Add(stale.Alias == Planner.Comment
                ? context.Finding("stale-device", Severity.Warning, $"{stale.Name} is a VXLAN device overlayctl made for VNI {stale.Vxlan?.Id.ToString(CultureInfo.InvariantCulture) ?? "?"}, but network.vni is {vx.Vni}: it still holds this host's VTEP address", $"overlayctl apply (removes {stale.Name})")
                : context.Finding("stale-device", Severity.Warning, $"{stale.Name} is a VXLAN device overlayctl did not make (no alias {Planner.Comment}), for another VNI than network.vni {vx.Vni}", $"ip link del {stale.Name}, if nothing on this host uses it (a flannel left from before?)"));
        return findings;
    }

    private static IEnumerable<Finding> CheckPeers(DoctorContext context, VxlanSettings vx, string device, IReadOnlyList<Peer> peers, ObservedHost observed)
    {
        var neighbors = observed.Neighbors.Where(n => n.Device == device).GroupBy(n => n.Address).ToDictionary(g => g.Key, g => g.First());
        var fdb = observed.Fdb.Where(f => f.Device == device).GroupBy(f => f.Mac).ToDictionary(g => g.Key, g => g.First());
        var routes = observed.Routes.Where(r => r.Destination is not null).ToLookup(r => r.Destination!.Value);
        var underlayRoutes = vx.DirectRouting ? Underlay.UnderlayRoutes(observed, context.Input.Spec.Network.Cidr) : [];
        foreach (var peer in peers)
        {
            var l = peer.Lease;
            var name = peer.HostName ?? l.PublicIp.ToString();
            if (l.VtepMac is not { } mac || (vx.DirectRouting && Underlay.IsOnLink(underlayRoutes, l.PublicIp))) continue;
            var problems = new List<string>();
            if (!neighbors.TryGetValue(l.Subnet.Network, out var n)) problems.Add($"no neighbour entry for {l.Subnet.Network}");
            else if (n.LinkAddress != mac) problems.Add($"neighbour {l.Subnet.Network} points at {n.LinkAddress}, not {mac}");
            if (!fdb.TryGetValue(mac, out var f)) problems.Add($"no fdb entry for {mac}");
            else if (f.Destination != l.PublicIp) problems.Add($"fdb {mac} sends to {f.Destination}, not {l.PublicIp}");
            if (!routes[l.Subnet].Any(r => r.Device == device)) problems.Add($"no route to {l.Subnet} via {device}");
            if (problems.Count > 0)
                yield return context.Finding("peers", Severity.Error, $"peer {name} ({l.Subnet}): {string.Join("; ", problems)}", "overlayctl apply (re-adds them; a network restart or a stopped daemon loses them)");
        }
    }

    /// <summary>
    /// The IPv6 half of <see cref="CheckPeers"/>: every dual-stack peer on the flannel-v6 path has its IPv6 neighbour (its
    /// IPv6 VTEP address to its IPv6 MAC), its fdb entry to its PublicIPv6 and its route via <paramref name="device"/>; one
    /// directRouting routes over the underlay (its address6 on-link) is not on that path.
    /// </summary>
    private static IEnumerable<Finding> CheckPeers6(DoctorContext context, VxlanSettings vx, string device, System.Net.IPNetwork overlay6, IReadOnlyList<Peer> peers, Ipv6State v6)
    {
        var neighbors = v6.Neighbors.Where(n => n.Device == device).GroupBy(n => n.Address).ToDictionary(g => g.Key, g => g.First());
        var fdb = v6.Fdb.Where(f => f.Device == device).GroupBy(f => f.Mac).ToDictionary(g => g.Key, g => g.First());
        var underlayRoutes = vx.DirectRouting ? Underlay.UnderlayRoutes6(v6, overlay6) : [];
        foreach (var peer in peers)
        {
            var l = peer.Lease;
            if (l.Subnet6 is not { } subnet6 || l.VtepMac6 is not { } mac || l.PublicIpv6 is not { } address
                || (vx.DirectRouting && Underlay.IsOnLink(underlayRoutes, address))) continue;
            var vtep = subnet6.BaseAddress;
            var problems = new List<string>();
            if (!neighbors.TryGetValue(vtep, out var n)) problems.Add($"no IPv6 neighbour entry for {vtep}");
            else if (n.LinkAddress != mac) problems.Add($"IPv6 neighbour {vtep} points at {n.LinkAddress}, not {mac}");
            if (!fdb.TryGetValue(mac, out var f)) problems.Add($"no fdb entry for {mac}");
            else if (!f.Destination.Equals(address)) problems.Add($"fdb {mac} sends to {f.Destination}, not {address}");
            if (!v6.Routes.Any(r => r.Destination is { } d && d.Equals(subnet6) && r.Device == device)) problems.Add($"no route to {subnet6} via {device}");
            if (problems.Count > 0)
                yield return context.Finding("peers", Severity.Error, $"peer {peer.HostName ?? address.ToString()} ({subnet6}): {string.Join("; ", problems)}", "overlayctl apply (re-adds them; a network restart or a stopped daemon loses them)");
        }
    }
}
