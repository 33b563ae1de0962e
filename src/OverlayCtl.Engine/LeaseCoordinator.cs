using OverlayCtl.Core;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>
/// The spec's side of the leases: the network config it implies, what each host asks for, which
/// lease a spec host holds, who its peers are, and what <c>apply</c> would allocate without writing.
/// </summary>
public sealed class LeaseCoordinator(ClusterSpec spec, ILeaseStore store, ILogger log)
{
    public NetworkConfig Config { get; } = BackendRegistry.ConfigOf(spec);

    /// <summary>
    /// Writes the config key and makes sure every host holds a lease; returns them by host name. A backend that
    /// needs the host's word (a public key) takes it from <paramref name="observed"/>; a host not read keeps what
    /// its lease among <paramref name="leases"/> says (<see cref="RequestFor"/>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, Lease>> AllocateAsync(IReadOnlyList<HostSpec> hosts, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, ObservedHost>? observed = null, IReadOnlyList<Lease>? leases = null)
    {
        await store.EnsureConfigAsync(Config, cancellationToken).ConfigureAwait(false);
        var requests = hosts.Select(h => RequestFor(h, observed?.GetValueOrDefault(h.Name), leases)).ToList();
        var acquired = await store.AcquireAsync(Config, requests, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < hosts.Count; i++) log.Debug("{Host}: lease {Subnet}", hosts[i].Name, acquired[i].Subnet);
        return hosts.Zip(acquired).ToDictionary(p => p.First.Name, p => p.Second);
    }

    /// <summary>
    /// What <paramref name="host"/> asks for: its backend's data from <paramref name="observed"/>. A host that was not
    /// read (outside --limit, or it failed) keeps what only it can know (its public key) from the lease it holds for
    /// the same backend, so leasing it again never wipes its peers' view of it.
    /// </summary>
    public LeaseRequest RequestFor(HostSpec host, ObservedHost? observed, IReadOnlyList<Lease>? leases)
    {
        var request = BackendRegistry.RequestFor(spec, host, observed);
        if (observed is null && request.PublicKey is null
            && leases?.FirstOrDefault(l => l.PublicIp == host.Address && l.BackendType == request.BackendType) is { PublicKey: { } key })
            request = request with { PublicKey = key };
        return request;
    }

    /// <summary>The leases each spec host holds now, by name; hosts without one are absent.</summary>
    public static IReadOnlyDictionary<string, Lease> HeldBy(ClusterSpec spec, IReadOnlyList<Lease> all)
    {
        var byAddress = all.GroupBy(l => l.PublicIp).ToDictionary(g => g.Key, g => g.First());
        var held = new Dictionary<string, Lease>();
        foreach (var host in spec.Hosts)
            if (byAddress.TryGetValue(host.Address, out var lease)) held[host.Name] = lease;
        return held;
    }

    /// <summary>Every other lease holder, named when it is a spec host (a flannel node or a stale lease is not).</summary>
    public static IReadOnlyList<Peer> PeersOf(ClusterSpec spec, Lease lease, IReadOnlyList<Lease> all) => all
        .Where(l => l.Subnet != lease.Subnet)
        .Select(l => new Peer(l, spec.Hosts.FirstOrDefault(h => h.Address == l.PublicIp)?.Name))
        .ToList();

    /// <summary>
    /// What apply would allocate, without writing: held leases as they are, the others provisional
    /// (pinned, else the first free subnet around every taken range), so <c>plan</c> shows real commands
    /// and changes nothing.
    /// </summary>
    public IReadOnlyList<Lease> Predict(LeaseSnapshot snapshot, IReadOnlyDictionary<string, ObservedHost>? observed = null)
    {
        // A held lease keeps its subnet but takes the spec's backend data, as apply's acquire rewrites it.
        var hosts = spec.Hosts.GroupBy(h => h.Address).ToDictionary(g => g.Key, g => g.First());
        var unreadable = snapshot.Unreadable.Where(u => u.Subnet is not null).Select(u => u.Subnet!.Value).ToList();
        var all = snapshot.Leases.Select(l => hosts.TryGetValue(l.PublicIp, out var h)
            ? l.WithData(RequestFor(h, observed?.GetValueOrDefault(h.Name), snapshot.Leases))
            : l).ToList();
        var held = HeldBy(spec, all);
        // IPv6 turned on or off: a held lease gains its IPv6 subnet, or gives it back, as apply's acquire moves its key.
        for (var i = 0; i < all.Count; i++)
        {
            if (!hosts.TryGetValue(all[i].PublicIp, out var h)) continue;
            var request = RequestFor(h, observed?.GetValueOrDefault(h.Name), snapshot.Leases);
            if (Config.Ipv6 is not { } v6) all[i] = all[i] with { Subnet6 = null, PublicIpv6 = null, VtepMac6 = null };
            else if (all[i].Subnet6 is not { } mine || Ipam.CheckPin(v6, mine) is not null || (h.Subnet6 is { } pin && !pin.Equals(mine)))
                all[i] = (all[i] with { Subnet6 = h.Subnet6 ?? Ipam.FirstFree(v6, Taken6(all, snapshot, except: all[i].PublicIp)) }).WithData(request);
        }
        foreach (var host in spec.Hosts.Where(h => !held.ContainsKey(h.Name)))
        {
            var request = RequestFor(host, observed?.GetValueOrDefault(host.Name), snapshot.Leases);
            var subnet = host.Subnet ?? Ipam.FirstFree(Config, all.Select(l => l.Subnet).Concat(unreadable));
            var subnet6 = Config.Ipv6 is { } v6 ? host.Subnet6 ?? Ipam.FirstFree(v6, Taken6(all, snapshot, except: host.Address)) : (System.Net.IPNetwork?)null;
            all.Add(new Lease(subnet, host.Address, request.BackendType, request.Vni, request.VtepMac, PublicKey: request.PublicKey, Port: request.Port, Subnet6: subnet6).WithData(request));
        }
        return all;
    }

    /// <summary>The IPv6 ranges held by anyone but <paramref name="except"/>, unreadable keys included.</summary>
    private static List<System.Net.IPNetwork> Taken6(IEnumerable<Lease> all, LeaseSnapshot snapshot, Core.Net.Ipv4Address except) =>
        all.Where(l => l.PublicIp != except && l.Subnet6 is not null).Select(l => l.Subnet6!.Value)
            .Concat(snapshot.Unreadable.Where(u => u.Subnet6 is not null).Select(u => u.Subnet6!.Value)).ToList();

    /// <summary>
    /// The spec hosts a limit selects (<see cref="HostPatterns"/>: names, globs, <c>!</c> and <c>&amp;</c>, comma-separated),
    /// in spec order; a pattern matching no host is bad input naming it. No limit: every host.
    /// </summary>
    public static IReadOnlyList<HostSpec> Targets(ClusterSpec spec, string? limit)
    {
        if (string.IsNullOrWhiteSpace(limit)) return spec.Hosts;
        var names = HostPatterns.Select(spec.Hosts.Select(h => h.Name).ToList(), HostPatterns.Split(limit), spec.SourcePath).ToHashSet(StringComparer.Ordinal);
        return spec.Hosts.Where(h => names.Contains(h.Name)).ToList();
    }
}
