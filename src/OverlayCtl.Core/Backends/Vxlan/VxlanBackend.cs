using System.Globalization;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using static OverlayCtl.Core.Planning.Ops;

namespace OverlayCtl.Core.Backends.Vxlan;

/// <summary>
/// flannel's VXLAN data path: one <c>flannel.VNI</c> device (flannel's name, so a flannel node
/// interoperates) with a fixed VTEP MAC, and per peer a permanent neighbour, fdb entry and onlink route.
/// With directRouting, on-link peers get a plain route via their underlay address instead.
/// </summary>
public sealed class VxlanBackend : IBackend
{
    public BackendKind Kind => BackendKind.Vxlan;

    public static string DeviceName(ClusterSpec spec) => "flannel." + spec.Network.Vni.ToString(CultureInfo.InvariantCulture);

    public int DefaultMtu(int underlayMtu) => underlayMtu - 50;

    public IEnumerable<string> OwnedDevices(ClusterSpec spec) => [DeviceName(spec)];

    public IEnumerable<Operation> Remove(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var device = DeviceName(spec);
        if (observed.FindLink(device) is { Kind: "vxlan" }) yield return Ip(ChangeKind.Remove, $"link {device}", "link", "del", device);
    }

    public BackendState Converge(BackendContext c)
    {
        var spec = c.Spec;
        var device = DeviceName(spec);
        var mac = c.Lease.VtepMac ?? MacAddress.ForVtep(spec.Network.Cidr, c.Host.Address);
        var mtu = c.Mtu.ToString(CultureInfo.InvariantCulture);
        var ops = new List<Operation>();
        var link = c.Observed.FindLink(device);
        var compatible = link is { Kind: "vxlan", Vxlan: { } v }
            && v.Id == spec.Network.Vni && v.Local == c.Host.Address && v.Device == c.Underlay.Interface
            && v.Port == spec.Network.Port && !v.Learning && link.Mac == mac;
        var fresh = link is null || !compatible;
        if (link is not null && !compatible) ops.Add(Ip(ChangeKind.Change, $"link {device}", "link", "del", device));
        if (fresh)
        {
            ops.Add(Ip(link is null ? ChangeKind.Add : ChangeKind.Change, $"link {device}",
                "link", "add", device, "address", mac.Text, "mtu", mtu, "type", "vxlan",
                "id", spec.Network.Vni.ToString(CultureInfo.InvariantCulture), "dev", c.Underlay.Interface,
                "local", c.Host.Address.ToString(), "dstport", spec.Network.Port.ToString(CultureInfo.InvariantCulture), "nolearning"));
        }
        else if (link!.Mtu != c.Mtu)
        {
            ops.Add(Ip(ChangeKind.Change, $"link {device} mtu", "link", "set", "dev", device, "mtu", mtu));
        }

        var vtepAddress = new InterfaceAddress(c.Lease.Subnet.Network, 32);
        var addresses = fresh ? [] : c.Observed.AddressesOf(device).ToList();
        foreach (var stale in addresses.Where(a => a != vtepAddress))
            ops.Add(Ip(ChangeKind.Remove, $"address {stale} on {device}", "addr", "del", stale.ToString(), "dev", device));
        if (!addresses.Contains(vtepAddress))
            ops.Add(Ip(ChangeKind.Add, $"address {vtepAddress} on {device}", "addr", "add", vtepAddress.ToString(), "dev", device));
        if (fresh || !link!.Up) ops.Add(Ip(fresh ? ChangeKind.Add : ChangeKind.Change, $"link {device} up", "link", "set", device, "up"));

        var routes = new List<DesiredRoute>();
        var neighbors = new List<Operation>();
        var fdb = new List<Operation>();
        var wantedNeighbors = new HashSet<Ipv4Address>();
        var wantedMacs = new HashSet<MacAddress>();
        var observedNeighbors = fresh ? [] : c.Observed.Neighbors.Where(n => n.Device == device).ToList();
        var observedFdb = fresh ? [] : c.Observed.Fdb.Where(f => f.Device == device && f.Self).ToList();
        // Lookups by key keep a converged host with thousands of peers linear, not quadratic.
        var underlayRoutes = spec.Network.DirectRouting ? Underlay.UnderlayRoutes(c.Observed, spec.Network.Cidr) : [];
        var neighborByAddress = observedNeighbors.GroupBy(n => n.Address).ToDictionary(g => g.Key, g => g.First());
        var fdbByMac = observedFdb.GroupBy(f => f.Mac).ToDictionary(g => g.Key, g => g.First());
        foreach (var peer in c.Peers.OrderBy(p => p.Lease.Subnet))
        {
            var lease = peer.Lease;
            if (spec.Network.DirectRouting && Underlay.IsOnLink(underlayRoutes, lease.PublicIp))
            {
                routes.Add(new DesiredRoute(lease.Subnet, lease.PublicIp, c.Underlay.Interface, Onlink: false));
                continue;
            }
            if (lease.VtepMac is not { } peerMac) continue;
            var vtep = lease.Subnet.Network;
            wantedNeighbors.Add(vtep);
            wantedMacs.Add(peerMac);
            if (!(neighborByAddress.TryGetValue(vtep, out var n) && n.LinkAddress == peerMac && n.Permanent))
                neighbors.Add(Ip(ChangeKind.Add, $"neigh {vtep}", "neigh", "replace", vtep.ToString(), "dev", device, "lladdr", peerMac.Text, "nud", "permanent"));
            if (!(fdbByMac.TryGetValue(peerMac, out var f) && f.Destination == lease.PublicIp && f.Permanent))
                fdb.Add(Bridge(ChangeKind.Add, $"fdb {peerMac}", "fdb", "replace", peerMac.Text, "dev", device, "self", "dst", lease.PublicIp.ToString(), "permanent"));
            routes.Add(new DesiredRoute(lease.Subnet, vtep, device, Onlink: true));
        }
        var staleNeighbors = observedNeighbors.Where(n => !wantedNeighbors.Contains(n.Address))
            .Select(n => Ip(ChangeKind.Remove, $"neigh {n.Address}", "neigh", "del", n.Address.ToString(), "dev", device));
        var staleFdb = observedFdb.Where(f => !wantedMacs.Contains(f.Mac) && f.Destination is not null)
            .Select(f => Bridge(ChangeKind.Remove, $"fdb {f.Mac}", "fdb", "del", f.Mac.Text, "dev", device, "self", "dst", f.Destination!.Value.ToString()));
        return new BackendState([.. ops, .. staleNeighbors, .. neighbors, .. staleFdb, .. fdb], routes, fresh ? new HashSet<string> { device } : null);
    }
}
