using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using static OverlayCtl.Core.Planning.Ops;

namespace OverlayCtl.Core.Planning;

/// <summary>
/// Desired state + observed state → the ordered operations that converge a host, and nothing when
/// it is converged. Pure. The order keeps like commands together so the executor batches them:
/// ip (devices, neighbours), bridge (fdb), ip (routes), sysctl, one iptables-restore, files.
/// </summary>
public static class Planner
{
    public static HostPlan PlanApply(PlanInput input)
    {
        var (spec, host, lease, peers, observed) = (input.Spec, input.Host, input.Lease, input.Peers, input.Observed);
        var underlay = Underlay.Find(host, observed);
        var backend = spec.Network.Backend;
        var mtu = spec.Network.OverlayMtu(underlay.Mtu);
        // What the host must have before its lease can be written (a key); apply has run these already, plan shows them.
        var ops = backend.PrepareLease(spec, host, observed).ToList();

        // A backend switch leaves the old backend's devices behind: remove them first. Their routes go with them.
        var removed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var other in BackendRegistry.All.Where(b => b != backend))
        {
            var removal = other.Remove(spec, host, observed).ToList();
            ops.AddRange(removal);
            if (removal.Count > 0) removed.UnionWith(other.OwnedDevices(spec, observed));
        }
        var warnings = new List<string>();
        ops.AddRange(OldBridges(spec, observed, force: false, warnings));
        ops.AddRange(DockerBridge(spec, lease, observed));
        var state = backend.Converge(new BackendContext(spec, host, lease, peers, observed, underlay, mtu));
        ops.AddRange(state.Operations);
        warnings.AddRange(state.Warnings ?? []);
        ops.AddRange(Routes(spec, backend, observed, state, removed));

        if (observed.IpForward != true)
            ops.Add(Run(ChangeKind.Change, ResourceAddress.Sysctl("net.ipv4.ip_forward"), "sysctl", "-w", "net.ipv4.ip_forward=1").Shows(observed.IpForward is null ? "unknown" : "0", "1"));

        ops.AddRange(IptablesRules.Converge(observed.Iptables, "filter", "FORWARD", IptablesRules.ForwardChain, IptablesRules.ForwardRules(spec.Network.Cidr)));
        ops.AddRange(spec.Network.IpMasq
            ? IptablesRules.Converge(observed.Iptables, "nat", "POSTROUTING", IptablesRules.MasqueradeChain, IptablesRules.MasqueradeRules(spec.Network.Cidr, lease.Subnet))
            : IptablesRules.Remove(observed.Iptables, "nat", "POSTROUTING", IptablesRules.MasqueradeChain));

        if (observed.Ipv6 is { } v6) ops.AddRange(Ipv6Plan(spec, lease, observed, v6, state, removed));

        var subnet6 = spec.Network.Ipv6 is null ? null : lease.Subnet6;
        if (spec.Docker.DaemonConfigFor(host) is { } daemonPath
            && DockerFiles.MergeDaemonConfig(daemonPath, observed.Files.GetValueOrDefault(daemonPath), lease.Subnet, mtu, spec.Network.IpMasq,
                subnet6, observed.Files.GetValueOrDefault(DockerFiles.BackupPath(daemonPath))) is { } daemon)
        {
            var current = observed.Files.GetValueOrDefault(daemonPath);
            var backup = DockerFiles.BackupPath(daemonPath);
            var keep = observed.Files.GetValueOrDefault(backup) is null && !DockerFiles.WrittenForOverlay(daemonPath, current, spec.Network.Cidr) ? backup : null;
            var write = new Operation(current is null ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.File(daemonPath), new FileStep(daemonPath, daemon, keep));
            ops.Add(current is null ? write : write.Shows(DockerFiles.DaemonConfigChange(daemonPath, current, daemon)));
            // dockerd reads daemon.json only when it starts.
            warnings.Add(spec.Docker.RestartFor(host) is { } restart
                ? $"dockerd restarts to use bip {DockerFiles.Bip(lease.Subnet)}: apply runs docker.restart ({string.Join(' ', restart)}) once the overlay is up"
                : $"dockerd must restart to use bip {DockerFiles.Bip(lease.Subnet)}: {daemonPath} changes (docker.restart in the spec has apply do it)");
        }
        // An earlier apply's docker.restart that failed or was interrupted: this one runs it (again) once the overlay is up.
        if (spec.Docker.DaemonConfigFor(host) is { } configPath && observed.Files.GetValueOrDefault(DockerFiles.RestartPendingPath(configPath)) is not null)
        {
            var pending = DockerFiles.RestartPendingPath(configPath);
            ops.Add(new Operation(ChangeKind.Remove, ResourceAddress.File(pending), new FileStep(pending, null)));
            if (!ops.Any(o => o.Address == ResourceAddress.File(configPath)))
                warnings.Add($"dockerd restarts to use bip {DockerFiles.Bip(lease.Subnet)}: an earlier apply wrote {configPath} but its docker.restart did not finish");
        }
        if (spec.Docker.SubnetEnvFor(host) is { } envPath)
        {
            var env = DockerFiles.SubnetEnv(spec.Network.Cidr, lease.Subnet, mtu, spec.Network.IpMasq, spec.Network.Ipv6?.Cidr, subnet6);
            var current = observed.Files.GetValueOrDefault(envPath);
            if (current != env)
            {
                var write = new Operation(current is null ? ChangeKind.Add : ChangeKind.Change, ResourceAddress.File(envPath), new FileStep(envPath, env));
                ops.Add(current is null ? write : write.Shows(DockerFiles.LinesChange(current, env)));
            }
        }
        return new HostPlan(host.Name, ops) { Warnings = warnings };
    }

    /// <summary>
    /// Removes exactly what overlayctl made on the host; foreign routes, rules, keys and devices survive. A
    /// bridge with something else attached (a container) is kept and named in <see cref="HostPlan.Warnings"/>,
    /// unless <paramref name="force"/>: deleting it would cut the container off.
    /// </summary>
    public static HostPlan PlanDestroy(ClusterSpec spec, HostSpec host, Lease? lease, ObservedHost observed, bool force = false)
    {
        var ops = new List<Operation>();
        var warnings = new List<string>();
        foreach (var backend in BackendRegistry.All) ops.AddRange(backend.Remove(spec, host, observed));
        var owned = BackendRegistry.OwnedDevices(spec, observed);
        ops.AddRange(observed.Routes
            .Where(r => r.Destination is { } d && r.Protocol == RouteProtocol && !owned.Contains(r.Device ?? ""))
            .Select(r => RouteDel(r)));

        ops.AddRange(OldBridges(spec, observed, force, warnings));
        var bridge = spec.Docker.Bridge;
        if (observed.FindLink(bridge) is { } link && Kept(observed, bridge, force, warnings) is null)
        {
            if (link.Alias == Comment) ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Link(bridge), "link", "del", bridge));
            else if (lease is not null)
            {
                var gateway = new InterfaceAddress(lease.Subnet.Gateway, lease.Subnet.PrefixLength);
                if (observed.AddressesOf(bridge).Contains(gateway))
                    ops.Add(Ip(ChangeKind.Remove, ResourceAddress.Address(gateway, bridge), "addr", "del", gateway.ToString(), "dev", bridge));
            }
        }
        foreach (var (table, parent, chain) in IptablesRules.Chains) ops.AddRange(IptablesRules.Remove(observed.Iptables, table, parent, chain));
        if (observed.Ipv6 is { } v6)
        {
            ops.AddRange(v6.Routes.Where(r => r.Destination is not null && r.Protocol == RouteProtocol && !owned.Contains(r.Device ?? "")).Select(RouteDel6));
            if (observed.FindLink(bridge) is { } kept && (kept.Alias != Comment || ops.All(o => o.Address != ResourceAddress.Link(bridge))))
                ops.AddRange(BridgeAddresses6(spec, v6, bridge, kept, wanted: null));
            foreach (var (table, parent, chain) in IptablesRules.Chains) ops.AddRange(IptablesRules.Remove(v6.Ip6tables, table, parent, chain, ipv6: true));
        }

        if (spec.Docker.DaemonConfigFor(host) is { } daemonPath)
        {
            var backup = DockerFiles.BackupPath(daemonPath);
            var original = observed.Files.GetValueOrDefault(backup);
            if (DockerFiles.RestoreDaemonConfig(daemonPath, observed.Files.GetValueOrDefault(daemonPath), original) is { } restored)
                ops.Add(new Operation(restored.Length == 0 ? ChangeKind.Remove : ChangeKind.Change, ResourceAddress.File(daemonPath), new FileStep(daemonPath, restored.Length == 0 ? null : restored)));
            if (original is not null) ops.Add(new Operation(ChangeKind.Remove, ResourceAddress.File(backup), new FileStep(backup, null)));
            var pending = DockerFiles.RestartPendingPath(daemonPath);
            if (observed.Files.GetValueOrDefault(pending) is not null) ops.Add(new Operation(ChangeKind.Remove, ResourceAddress.File(pending), new FileStep(pending, null)));
        }
        if (spec.Docker.SubnetEnvFor(host) is { } envPath && observed.Files.GetValueOrDefault(envPath) is not null)
            ops.Add(new Operation(ChangeKind.Remove, ResourceAddress.File(envPath), new FileStep(envPath, null)));
        return new HostPlan(host.Name, ops) { Warnings = warnings };
    }

    /// <summary>The comment overlayctl leaves where it can (iptables jumps, the alias of a bridge it created).</summary>
    public const string Comment = IptablesRules.Comment;

    /// <summary>
    /// Bridges carrying overlayctl's alias that are not <c>docker.bridge</c>: what renaming it left behind,
    /// still holding the lease's gateway and a connected route for the subnet. Each is deleted; one with a
    /// foreign port is kept (warned) but gives up its overlay addresses, so only the current bridge holds the
    /// gateway.
    /// </summary>
    private static IEnumerable<Operation> OldBridges(ClusterSpec spec, ObservedHost observed, bool force, List<string> warnings)
    {
        foreach (var old in observed.Links.Where(l => l.Kind == "bridge" && l.Alias == Comment && l.Name != spec.Docker.Bridge))
        {
            if (Kept(observed, old.Name, force, warnings) is null)
            {
                yield return Ip(ChangeKind.Remove, ResourceAddress.Link(old.Name), "link", "del", old.Name);
                continue;
            }
            foreach (var address in observed.AddressesOf(old.Name).Where(a => spec.Network.Cidr.Contains(a.Address)))
                yield return Ip(ChangeKind.Remove, ResourceAddress.Address(address, old.Name), "addr", "del", address.ToString(), "dev", old.Name);
        }
    }

    /// <summary>
    /// The ports of <paramref name="bridge"/> that overlayctl did not attach (a container's veth: any port
    /// without overlayctl's alias), with a warning saying the bridge is kept; null when it has none or
    /// <paramref name="force"/> says to delete it anyway.
    /// </summary>
    private static IReadOnlyList<string>? Kept(ObservedHost observed, string bridge, bool force, List<string> warnings)
    {
        var ports = observed.Links.Where(l => l.Master == bridge && l.Alias != Comment).Select(l => l.Name).ToList();
        if (ports.Count == 0 || force) return null;
        warnings.Add($"{bridge} kept: {string.Join(", ", ports)} {(ports.Count == 1 ? "is" : "are")} attached to it (a container?); stop what uses it and run again, or destroy --force deletes it anyway");
        return ports;
    }

    private static IEnumerable<Operation> DockerBridge(ClusterSpec spec, Lease lease, ObservedHost observed)
    {
        var bridge = spec.Docker.Bridge;
        var link = observed.FindLink(bridge);
        if (link is not null && link.Kind is not ("bridge" or "openvswitch"))
            throw new PlanningException($"{bridge} exists but is a {link.Kind ?? "plain"} device, not a bridge; remove it or set docker.bridge to another name");
        var gateway = new InterfaceAddress(lease.Subnet.Gateway, lease.Subnet.PrefixLength);
        if (link is null)
        {
            yield return Ip(ChangeKind.Add, ResourceAddress.Link(bridge), "link", "add", bridge, "type", "bridge");
            // The alias is overlayctl's mark: destroy deletes only a bridge it created.
            yield return Ip(ChangeKind.Add, ResourceAddress.Link(bridge, "alias"), "link", "set", "dev", bridge, "alias", Comment);
        }
        var addresses = link is null ? [] : observed.AddressesOf(bridge).ToList();
        foreach (var stale in addresses.Where(a => a != gateway))
            yield return Ip(ChangeKind.Remove, ResourceAddress.Address(stale, bridge), "addr", "del", stale.ToString(), "dev", bridge);
        if (!addresses.Contains(gateway))
            yield return AddressChange(Ip(ChangeKind.Add, ResourceAddress.Address(gateway, bridge), "addr", "add", gateway.ToString(), "dev", bridge), addresses, gateway);
        if (link is null)
            yield return Ip(ChangeKind.Add, ResourceAddress.Link(bridge, "up"), "link", "set", bridge, "up");
        else if (!link.Up)
            yield return Ip(ChangeKind.Change, ResourceAddress.Link(bridge, "up"), "link", "set", bridge, "up").Shows("down", "up");
    }

    /// <summary>
    /// The IPv6 half of a host's plan, from its IPv6 state: the docker bridge's IPv6 gateway, the IPv6 peer routes the
    /// backend wants, IPv6 forwarding and flannel's ip6tables chains. On an IPv4-only network (a switch back) it takes
    /// all of them away: overlayctl's IPv6 routes (proto 211), the bridge's IPv6 addresses and its ip6tables chains.
    /// </summary>
    private static IEnumerable<Operation> Ipv6Plan(ClusterSpec spec, Lease lease, ObservedHost observed, Ipv6State v6, BackendState state, IReadOnlySet<string> removed)
    {
        var dual = spec.Network.Ipv6 is { } network6 && lease.Subnet6 is not null ? network6 : null;
        var bridge = spec.Docker.Bridge;
        var link = observed.FindLink(bridge);
        var gateway = dual is null ? null : new Address6Info(bridge, Ipv6.Gateway(lease.Subnet6!.Value), lease.Subnet6.Value.PrefixLength);
        foreach (var op in BridgeAddresses6(spec, v6, bridge, link, gateway)) yield return op;

        var gone = new HashSet<string>(removed, StringComparer.Ordinal);
        if (state.Vanishing is { } vanishing) gone.UnionWith(vanishing);
        var routes = v6.Routes.Where(r => r.Destination is not null && !gone.Contains(r.Device ?? "")).ToList();
        var wanted = state.Routes6.ToDictionary(w => w.Destination);
        foreach (var route in routes.Where(r => r.Protocol == RouteProtocol && !wanted.ContainsKey(r.Destination!.Value)))
            yield return RouteDel6(route);
        var byDestination = routes.ToLookup(r => r.Destination!.Value);
        foreach (var w in state.Routes6)
        {
            if (byDestination[w.Destination].Any(r => w.Via.Equals(r.Gateway) && r.Device == w.Device && r.Protocol == RouteProtocol && (r.Onlink || !w.Onlink))) continue;
            var args = new List<string> { "route", "replace", w.Destination.ToString(), "via", w.Via.ToString(), "dev", w.Device };
            if (w.Onlink) args.Add("onlink");
            args.AddRange(["proto", RouteProtocol]);
            var address = ResourceAddress.Route6(w.Destination);
            if (byDestination[w.Destination].FirstOrDefault() is not { } now)
            {
                yield return Ip(ChangeKind.Add, address, [.. args]);
                continue;
            }
            // IPv6 checks an onlink gateway against the routes in place: while the old route (another device) still
            // covers the gateway, the kernel refuses the new one ("device mismatch"), so the old one goes first.
            var change = now.Device == w.Device
                ? Ip(ChangeKind.Change, address, [.. args])
                : Replace(address, new IpStep(["route", "del", w.Destination.ToString(), .. now.Device is null ? Array.Empty<string>() : ["dev", now.Device]]), new IpStep(args));
            yield return change.Shows($"via {now.Gateway} dev {now.Device}{(now.Onlink ? " onlink" : "")} proto {now.Protocol}", $"via {w.Via} dev {w.Device}{(w.Onlink ? " onlink" : "")} proto {RouteProtocol}");
        }

        if (dual is null)
        {
            foreach (var (table, parent, chain) in IptablesRules.Chains)
                foreach (var op in IptablesRules.Remove(v6.Ip6tables, table, parent, chain, ipv6: true)) yield return op;
            yield break;
        }
        if (v6.Forwarding != true)
            yield return Run(ChangeKind.Change, ResourceAddress.Sysctl("net.ipv6.conf.all.forwarding"), "sysctl", "-w", "net.ipv6.conf.all.forwarding=1").Shows(v6.Forwarding is null ? "unknown" : "0", "1");
        foreach (var op in IptablesRules.Converge(v6.Ip6tables, "filter", "FORWARD", IptablesRules.ForwardChain, IptablesRules.ForwardRules6(dual.Cidr), ipv6: true)) yield return op;
        var masquerade = spec.Network.IpMasq
            ? IptablesRules.Converge(v6.Ip6tables, "nat", "POSTROUTING", IptablesRules.MasqueradeChain, IptablesRules.MasqueradeRules6(dual.Cidr, lease.Subnet6!.Value), ipv6: true)
            : IptablesRules.Remove(v6.Ip6tables, "nat", "POSTROUTING", IptablesRules.MasqueradeChain, ipv6: true);
        foreach (var op in masquerade) yield return op;
    }

    /// <summary>
    /// The docker bridge's global IPv6 addresses: exactly <paramref name="wanted"/> (the lease's first IPv6 address, as
    /// Docker's fixed-cidr-v6 gateway) when dual-stack. Others are removed only when they are overlayctl's: the bridge
    /// carries its alias, or the address lies in the IPv6 overlay; an operator's address on a bridge of theirs stays.
    /// </summary>
    private static IEnumerable<Operation> BridgeAddresses6(ClusterSpec spec, Ipv6State v6, string bridge, LinkInfo? link, Address6Info? wanted)
    {
        var present = link is null ? [] : v6.AddressesOf(bridge).ToList();
        var ours = link?.Alias == Comment;
        foreach (var stale in present.Where(a => a != wanted && (ours || spec.Network.Ipv6?.Cidr.Contains(a.Address) == true)))
            yield return Ip(ChangeKind.Remove, ResourceAddress.Address6(stale.Address, stale.PrefixLength, bridge), "addr", "del", stale.ToString(), "dev", bridge);
        if (wanted is not null && !present.Contains(wanted))
            yield return Ip(ChangeKind.Add, ResourceAddress.Address6(wanted.Address, wanted.PrefixLength, bridge), "addr", "add", wanted.ToString(), "dev", bridge, "nodad");
    }

    private static Operation RouteDel6(Route6Info route)
    {
        var args = new List<string> { "route", "del", route.Destination!.Value.ToString() };
        if (route.Device is not null) args.AddRange(["dev", route.Device]);
        return Ip(ChangeKind.Remove, ResourceAddress.Route6(route.Destination.Value), [.. args]);
    }

    /// <summary>An address added where others stand (a new lease): shows the one it takes over from.</summary>
    internal static Operation AddressChange(Operation add, IReadOnlyList<InterfaceAddress> present, InterfaceAddress wanted) =>
        present.Count == 0 ? add : add.Shows(string.Join(", ", present), wanted.ToString());

    /// <summary>
    /// Routes: ours carry <see cref="Ops.RouteProtocol"/>. A wanted route that is missing or different is
    /// replaced; ours (or via a backend's device) inside the overlay that nobody wants any more are deleted.
    /// </summary>
    private static IEnumerable<Operation> Routes(ClusterSpec spec, IBackend backend, ObservedHost observed, BackendState state, IReadOnlySet<string> removed)
    {
        var wanted = state.Routes;
        var gone = new HashSet<string>(removed, StringComparer.Ordinal);
        if (state.Vanishing is { } vanishing) gone.UnionWith(vanishing);
        var routes = observed.Routes.Where(r => !gone.Contains(r.Device ?? "")).ToList();
        var owned = backend.OwnedDevices(spec, observed).ToHashSet(StringComparer.Ordinal);
        var wantedDestinations = wanted.Select(w => w.Destination).ToHashSet();
        foreach (var route in routes)
        {
            if (route.Destination is not { } d || !spec.Network.Cidr.Contains(d) || wantedDestinations.Contains(d)) continue;
            if (route.Protocol == RouteProtocol || owned.Contains(route.Device ?? "")) yield return RouteDel(route);
        }
        var byDestination = routes.Where(r => r.Destination is not null).ToLookup(r => r.Destination!.Value);
        foreach (var w in wanted)
        {
            var present = byDestination[w.Destination].Any(r => r.Gateway == w.Via && r.Device == w.Device
                && r.Protocol == RouteProtocol && (r.Onlink || !w.Onlink));
            if (present) continue;
            var args = new List<string> { "route", "replace", w.Destination.ToString() };
            if (w.Via is { } via) args.AddRange(["via", via.ToString()]);
            args.AddRange(["dev", w.Device]);
            if (w.Onlink) args.Add("onlink");
            args.AddRange(["proto", RouteProtocol]);
            var route = Ip(byDestination.Contains(w.Destination) ? ChangeKind.Change : ChangeKind.Add, ResourceAddress.Route(w.Destination), [.. args]);
            yield return byDestination[w.Destination].FirstOrDefault() is { } now
                ? route.Shows(Describe(now.Gateway, now.Device, now.Onlink, now.Protocol), Describe(w.Via, w.Device, w.Onlink, RouteProtocol))
                : route;
        }
    }

    private static string Describe(Ipv4Address? via, string? device, bool onlink, string? protocol) =>
        string.Join(' ', new[] { via is { } v ? $"via {v}" : null, device is null ? null : $"dev {device}", onlink ? "onlink" : null, protocol is null ? null : $"proto {protocol}" }.OfType<string>());

    private static Operation RouteDel(RouteInfo route)
    {
        var args = new List<string> { "route", "del", route.Destination!.Value.ToString() };
        if (route.Device is not null) args.AddRange(["dev", route.Device]);
        return Ip(ChangeKind.Remove, ResourceAddress.Route(route.Destination.Value), [.. args]);
    }
}
