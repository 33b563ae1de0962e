using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Planning;

/// <summary>
/// What apply refuses before it changes anything, and plan refuses the same way: a spec that is valid on
/// its own but wrong against etcd or a live host. Each problem is a spec error located at the value to fix.
/// </summary>
public static class Preflight
{
    /// <summary>The etcd side: a network config that would strand the leases already handed out.</summary>
    public static IReadOnlyList<SpecError> Cluster(ClusterSpec spec, NetworkConfig wanted, LeaseSnapshot snapshot)
    {
        if (snapshot.Config is not { } existing || snapshot.Leases.Count == 0 || !existing.Strands(wanted)) return [];
        var key = existing.Network != wanted.Network ? SpecLocations.Network("cidr") : SpecLocations.Network("subnetLength");
        return [spec.Locations.Error(key,
            $"etcd's config says Network {existing.Network} with /{existing.SubnetLen} subnets and {snapshot.Leases.Count} lease(s) exist; " +
            $"the spec asks for {wanted.Network} with /{wanted.SubnetLen}, which would strand those hosts",
            $"keep network: as {existing.Network} with subnetLength {existing.SubnetLen}, or destroy with --release-leases first")];
    }

    /// <summary>
    /// The host side: the host must hold the address the spec gives it (a lease is keyed by that address,
    /// so a typo would move the host to a new subnet), and the overlay must not take over a path the host
    /// already uses: an address or route in the overlay that is not overlayctl's, or the address the
    /// operator's ssh session comes from.
    /// </summary>
    public static IReadOnlyList<SpecError> Host(ClusterSpec spec, HostSpec host, ObservedHost observed)
    {
        var errors = new List<SpecError>();
        var addressKey = SpecLocations.Host(host.Name, "address");
        var holder = observed.Addresses.FirstOrDefault(a => a.Address.Address == host.Address);
        if (holder is null)
        {
            var held = observed.Addresses.Where(a => a.Device != "lo" && !spec.Network.Cidr.Contains(a.Address.Address))
                .Select(a => $"{a.Address.Address} on {a.Device}").ToList();
            errors.Add(spec.Locations.Error(addressKey,
                $"host {host.Name} does not hold its address {host.Address} (it holds {(held.Count == 0 ? "no underlay address" : string.Join(", ", held))}); " +
                "its lease is keyed by this address, so applying would give the host a new subnet",
                "write the underlay address the host holds"));
        }
        else if (host.Interface is { } named && holder.Device != named)
        {
            errors.Add(spec.Locations.Error(addressKey,
                $"host {host.Name} holds {host.Address} on {holder.Device}, not on its interface {named}", $"write interface: {holder.Device}, or drop interface:"));
        }

        var cidr = spec.Network.Cidr;
        var ours = Owned(spec, observed);
        var foreign = observed.Addresses.Where(a => !ours.Contains(a.Device) && cidr.Overlaps(a.Address.Network)).Select(a => $"address {a.Address} on {a.Device}")
            .Concat(observed.Routes.Where(r => r.Destination is { } d && cidr.Overlaps(d) && r.Protocol != Ops.RouteProtocol && !ours.Contains(r.Device ?? ""))
                .Select(r => $"route {r.Destination}{(r.Gateway is { } g ? $" via {g}" : "")}{(r.Device is { } dev ? $" dev {dev}" : "")}"))
            .Distinct(StringComparer.Ordinal).ToList();
        if (foreign.Count > 0)
            errors.Add(spec.Locations.Error(SpecLocations.Network("cidr"),
                $"the overlay {cidr} overlaps what host {host.Name} already uses: {string.Join(", ", foreign)}; overlayctl would take that traffic over",
                $"choose a network: cidr that {host.Name} does not use, or remove those from the host"));
        if (observed.SshClient is { } client && cidr.Contains(client))
            errors.Add(spec.Locations.Error(SpecLocations.Network("cidr"),
                $"the ssh session on host {host.Name} comes from {client}, inside the overlay {cidr}: the overlay's routes would cut it off",
                "choose a network: cidr that does not hold the address you connect from"));
        return errors;
    }

    /// <summary>The devices whose addresses and routes are overlayctl's: the docker bridge, every backend's devices, anything carrying its alias.</summary>
    private static HashSet<string> Owned(ClusterSpec spec, ObservedHost observed)
    {
        var owned = BackendRegistry.OwnedDevices(spec, observed);
        owned.Add(spec.Docker.Bridge);
        owned.UnionWith(observed.Links.Where(l => l.Alias == IptablesRules.Comment).Select(l => l.Name));
        return owned;
    }
}
