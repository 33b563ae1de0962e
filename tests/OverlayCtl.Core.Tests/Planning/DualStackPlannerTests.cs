using System.Net;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Planning;

/// <summary>The IPv6 half of a host's plan: flannel-v6 over the IPv6 underlay, host-gw's IPv6 routes, and what a switch back removes.</summary>
public sealed class DualStackPlannerTests
{
    /// <summary>
    /// node1 and node2 share an IPv6 underlay /64; node3, a peer only the directRouting tests give, is on another /64 behind
    /// a gateway (its IPv4 address stays on-link, so the two families decide apart).
    /// </summary>
    private static ClusterSpec Spec(string backend = "vxlan", bool dual = true, bool directRouting = false) => SpecLoader.Parse($"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: lab
        network:
          cidr: 10.244.0.0/16
          backend: {backend}
        {(directRouting ? "  directRouting: true" : "")}
        {(dual ? "  ipv6: { cidr: \"fd00:10:244::/48\" }" : "")}
        docker:
          daemonConfig: null
          subnetEnv: null
        hosts:
          - name: node1
            address: 192.0.2.11
            address6: "fd00:198:18:150::11"
          - name: node2
            address: 192.0.2.12
            address6: "fd00:198:18:150::12"
          - name: node3
            address: 192.0.2.13
            address6: "fd00:198:18:151::13"
        """, "lab.yaml");

    private static Lease LeaseOf(ClusterSpec spec, int n)
    {
        var request = BackendRegistry.RequestFor(spec, spec.Hosts[n - 1]);
        return new Lease(Ipv4Cidr.Parse($"10.244.{n}.0/24"), request.PublicIp, request.BackendType, request.Vni, request.VtepMac,
            Subnet6: spec.Network.Ipv6 is null ? null : Ipv6.Parse($"fd00:10:244:{n}::/64"), PublicIpv6: request.PublicIpv6, VtepMac6: request.VtepMac6);
    }

    private static PlanInput Input(ClusterSpec spec, ObservedHost observed) =>
        new(spec, spec.Hosts[0], LeaseOf(spec, 1), [new Peer(LeaseOf(spec, 2), "node2")], observed);

    private static ObservedHost Fresh() => Lab.Fresh() with
    {
        Ipv6 = Ipv6State.Empty with
        {
            Addresses = [new Address6Info("eth0", IPAddress.Parse("fd00:198:18:150::11"), 64)],
            Routes = [new Route6Info(Ipv6.Parse("fd00:198:18:150::/64"), null, "eth0", false, "kernel")],
        },
    };

    [Fact]
    public void ADualStackSpecAndAHostNamingItsAddress6HaveTheIpv6TablesReadAlwaysAnIpv4OnlyHostOnlyWhereMarked()
    {
        Assert.Contains(new HostRead.Ipv6(), BackendRegistry.ReadsFor(Spec(), Spec().Hosts[0]));
        Assert.Contains(new HostRead.Ipv6(), BackendRegistry.ReadsFor(Spec(dual: false), Spec(dual: false).Hosts[0]));
        var plain = Lab.Spec();
        Assert.Equal(new HostRead.Ipv6(new Ipv6Traces("/run/lab/node1/subnet.env", "/run/lab/node1/daemon.json")),
            Assert.Single(BackendRegistry.ReadsFor(plain, plain.Hosts[0]).OfType<HostRead.Ipv6>()));
    }

    [Fact]
    public void TheMarksOfAnEarlierDualStackApplyAreItsDeviceSubnetEnvAndAFixedCidrV6ThatTheBackupLacks()
    {
        var traces = new Ipv6Traces("/s.env", "/d.json");
        var clean = Lab.Fresh() with { Files = new Dictionary<string, string?> { ["/s.env"] = "FLANNEL_SUBNET=10.244.1.1/24\n", ["/d.json"] = "{\"bip\": \"10.244.1.1/24\"}" } };
        Assert.False(traces.FoundIn(clean));
        Assert.True(traces.FoundIn(clean with { Links = [.. clean.Links, new LinkInfo(9, "flannel-v6.7", "vxlan", 1430, null, true, null, null, null)] }));
        Assert.True(traces.FoundIn(clean with { Files = new Dictionary<string, string?>(clean.Files) { ["/s.env"] = "FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n" } }));
        var daemon6 = new Dictionary<string, string?>(clean.Files) { ["/d.json"] = "{\"fixed-cidr-v6\": \"fd00:10:244:1::/64\"}" };
        Assert.True(traces.FoundIn(clean with { Files = daemon6 }));
        // The operator's own fixed-cidr-v6, kept in the backup before overlayctl first wrote the file, is not a mark.
        Assert.False(traces.FoundIn(clean with { Files = new Dictionary<string, string?>(daemon6) { ["/d.json.overlayctl.bak"] = "{\"fixed-cidr-v6\": \"fd00:1::/64\"}" } }));
        Assert.False(new Ipv6Traces(null, null).FoundIn(clean with { Files = daemon6 }));
    }

    [Fact]
    public void AFreshDualStackVxlanHostGetsBothDevicesBothRoutesAndBothRuleSets()
    {
        var plan = Planner.PlanApply(Input(Spec(), Fresh()));
        Golden.Match("OverlayCtl.Core.Tests", "dual-stack-fresh.txt", PlanRenderer.Render(new Plan([plan])));
        var steps = plan.Operations.SelectMany(o => o.Steps).Select(s => s.Render()).ToList();
        var mac6 = LeaseOf(Spec(), 1).VtepMac6!.Value.Text;
        Assert.Contains($"ip link add flannel-v6.1 address {mac6} mtu 1430 type vxlan id 1 dev eth0 local fd00:198:18:150::11 dstport 8472 nolearning", steps);
        Assert.Contains("ip route replace fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 onlink proto 211", steps);
        Assert.Contains("ip addr add fd00:10:244:1::1/64 dev docker0 nodad", steps);
        Assert.Contains("sysctl -w net.ipv6.conf.all.forwarding=1", steps);
        Assert.Contains(steps, s => s.StartsWith("ip6tables-restore --noflush: *nat :OVERLAYCTL-POSTRTG", StringComparison.Ordinal) && s.Contains("! -d ff00::/8", StringComparison.Ordinal));
    }

    [Fact]
    public void HostGwRoutesEachPeersIPv6SubnetViaItsAddress6()
    {
        var plan = Planner.PlanApply(Input(Spec("host-gw"), Fresh()));
        var steps = plan.Operations.SelectMany(o => o.Steps).Select(s => s.Render()).ToList();
        Assert.Contains("ip route replace fd00:10:244:2::/64 via fd00:198:18:150::12 dev eth0 proto 211", steps);
        Assert.DoesNotContain(steps, s => s.Contains("flannel-v6", StringComparison.Ordinal));
    }

    [Fact]
    public void HostGwRefusesAPeerWhoseAddress6IsReachedThroughAGatewayNamingIt()
    {
        var routed = Fresh() with
        {
            Ipv6 = Fresh().Ipv6! with
            {
                Routes = [new Route6Info(Ipv6.Parse("fd00:198:18:150::/124"), null, "eth0", false, "kernel"), new Route6Info(null, IPAddress.Parse("fd00:198:18:150::1"), "eth0", false, "ra")],
            },
        };
        var refused = Assert.Throws<PlanningException>(() => Planner.PlanApply(Input(Spec("host-gw"), routed)));
        Assert.Contains("node2 (fd00:198:18:150::12) is reached over IPv6 through a gateway", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DoctorJudgesTheIPv6HalfUnderTheSameCheckNames()
    {
        var spec = Spec();
        var device = VxlanBackend.Device6Name(spec);
        var observed = Fresh() with
        {
            Links = [.. Lab.Fresh().Links,
                new LinkInfo(3, "docker0", "bridge", 1500, null, true, null, "overlayctl", null),
                new LinkInfo(4, device, "vxlan", 1450, LeaseOf(spec, 1).VtepMac6, true, null, "overlayctl", null)],
            Ipv6 = Ipv6State.Empty with
            {
                Forwarding = false,
                Ip6tables = new IptablesState(new Dictionary<string, IptablesTable> { ["filter"] = new(new Dictionary<string, string?> { ["FORWARD"] = "DROP" }, []) }),
            },
        };
        var findings = Doctor.CheckHost(Input(spec, observed), HostFacts.None).Select(f => $"{f.Check}: {f.Problem}").ToList();
        Assert.Contains("ip-forward: net.ipv6.conf.all.forwarding is 0: the host does not route IPv6 between the overlay and its containers", findings);
        Assert.Contains(findings, f => f.StartsWith("forward-policy: ip6tables FORWARD policy is DROP", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.StartsWith($"mtu: {device} MTU 1450 exceeds eth0 MTU 1500 - 70", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.StartsWith("docker-bridge: the docker bridge docker0 does not hold fd00:10:244:1::1/64", StringComparison.Ordinal));
    }

    [Fact]
    public void DoctorNamesAPeersMissingOrWrongFlannelV6EntriesAndAWrongIPv6VtepMac()
    {
        var spec = Spec();
        var device = VxlanBackend.Device6Name(spec);
        var peer = LeaseOf(spec, 2);
        var vtep = peer.Subnet6!.Value.BaseAddress;
        var whole = Fresh().Ipv6! with
        {
            Neighbors = [new Neighbor6Info(vtep, device, peer.VtepMac6, Permanent: true)],
            Fdb = [new Fdb6Info(peer.VtepMac6!.Value, device, peer.PublicIpv6!, Permanent: true)],
            Routes = [.. Fresh().Ipv6!.Routes, new Route6Info(peer.Subnet6, vtep, device, true, "211")],
        };
        ObservedHost With(Ipv6State v6, MacAddress? mac = null) => Fresh() with
        {
            Links = [.. Lab.Fresh().Links, new LinkInfo(4, device, "vxlan", 1430, mac ?? LeaseOf(spec, 1).VtepMac6, true, null, "overlayctl", null)],
            Ipv6 = v6,
        };
        List<string> Findings(ObservedHost observed, string check) =>
            Doctor.CheckHost(Input(spec, observed), HostFacts.None).Where(f => f.Check == check).Select(f => f.Problem).ToList();

        Assert.Empty(Findings(With(whole), "peers"));
        Assert.Empty(Findings(With(whole), "vtep-mac"));
        Assert.Equal([$"peer node2 (fd00:10:244:2::/64): no fdb entry for {peer.VtepMac6}"], Findings(With(whole with { Fdb = [] }), "peers"));
        var moved = Findings(With(whole with { Fdb = [new Fdb6Info(peer.VtepMac6!.Value, device, IPAddress.Parse("fd00:198:18:150::99"), true)], Routes = Fresh().Ipv6!.Routes }), "peers");
        Assert.Equal([$"peer node2 (fd00:10:244:2::/64): fdb {peer.VtepMac6} sends to fd00:198:18:150::99, not fd00:198:18:150::12; no route to fd00:10:244:2::/64 via {device}"], moved);
        Assert.Contains($"{device} has MAC 02:00:00:00:00:01", Assert.Single(Findings(With(whole, MacAddress.Parse("02:00:00:00:00:01")), "vtep-mac")), StringComparison.Ordinal);
    }

    [Fact]
    public void AnIPv4OnlySpecTakesAwayWhatDualStackLeftAndLeavesForeignIPv6Alone()
    {
        var spec = Spec(dual: false);
        var v6 = Spec();
        var device = VxlanBackend.Device6Name(v6);
        var observed = Fresh() with
        {
            Links = [.. Lab.Fresh().Links,
                new LinkInfo(3, "docker0", "bridge", 1500, null, true, null, "overlayctl", null),
                new LinkInfo(4, device, "vxlan", 1430, LeaseOf(v6, 1).VtepMac6, true, null, "overlayctl", new VxlanInfo(1, null, "eth0", 8472, false) { Local6 = IPAddress.Parse("fd00:198:18:150::11") })],
            Ipv6 = new Ipv6State(
                [new Address6Info("eth0", IPAddress.Parse("fd00:198:18:150::11"), 64), new Address6Info("docker0", IPAddress.Parse("fd00:10:244:1::1"), 64)],
                [new Route6Info(Ipv6.Parse("fd00:10:244:2::/64"), IPAddress.Parse("fd00:10:244:2::"), device, true, Ops.RouteProtocol),
                 new Route6Info(Ipv6.Parse("fd00:10:244:3::/64"), IPAddress.Parse("fd00:198:18:150::13"), "eth0", false, Ops.RouteProtocol),
                 new Route6Info(Ipv6.Parse("2001:db8::/32"), IPAddress.Parse("fd00:198:18:150::1"), "eth0", false, "static")],
                [], [],
                new IptablesState(new Dictionary<string, IptablesTable>
                {
                    ["filter"] = new(new Dictionary<string, string?> { ["FORWARD"] = "ACCEPT", [IptablesRules.ForwardChain] = null },
                        [IptablesRules.Jump("FORWARD", IptablesRules.ForwardChain), .. IptablesRules.ForwardRules6(v6.Network.Ipv6!.Cidr)]),
                }),
                true),
        };
        var plan = Planner.PlanApply(new PlanInput(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), [], observed));
        var removed = plan.Operations.Where(o => o.Kind == ChangeKind.Remove).Select(o => o.Address.ToString()).ToList();
        Assert.Contains($"link {device}", removed);
        Assert.Contains("address fd00:10:244:1::1/64 on docker0", removed);
        Assert.Contains("route fd00:10:244:3::/64", removed);
        Assert.Contains("iptables filter OVERLAYCTL-FWD ipv6", removed);
        // The route via the removed device goes with it; an operator's IPv6 route stays.
        Assert.DoesNotContain("route fd00:10:244:2::/64", removed);
        Assert.DoesNotContain("route 2001:db8::/32", removed);
        Assert.DoesNotContain(plan.Operations, o => o.Address.Kind == ResourceKind.Sysctl && o.Address.Name.Contains("ipv6", StringComparison.Ordinal));
    }


    private static PlanInput DirectInput(ClusterSpec spec, ObservedHost observed) =>
        new(spec, spec.Hosts[0], LeaseOf(spec, 1), [new Peer(LeaseOf(spec, 2), "node2"), new Peer(LeaseOf(spec, 3), "node3")], observed);

    /// <summary>node1's IPv6 underlay: its /64 on eth0 (the kernel's route) and a default route via a router on it.</summary>
    private static Ipv6State DirectUnderlay6() => Ipv6State.Empty with
    {
        Addresses = [new Address6Info("eth0", IPAddress.Parse("fd00:198:18:150::11"), 64)],
        Routes =
        [
            new Route6Info(Ipv6.Parse("fd00:198:18:150::/64"), null, "eth0", false, "kernel"),
            new Route6Info(null, IPAddress.Parse("fd00:198:18:150::1"), "eth0", false, "static"),
        ],
    };

    [Fact]
    public void DirectRoutingRoutesAnOnLinkIPv6PeerViaItsAddress6AndKeepsVxlanForOneBehindAGateway()
    {
        var spec = Spec(directRouting: true);
        var plan = Planner.PlanApply(DirectInput(spec, Fresh() with { Ipv6 = DirectUnderlay6() }));
        Golden.Match("OverlayCtl.Core.Tests", "dual-stack-direct-routing.txt", PlanRenderer.Render(new Plan([plan])));
        var steps = plan.Operations.SelectMany(o => o.Steps).Select(s => s.Render()).ToList();
        Assert.Contains("ip route replace fd00:10:244:2::/64 via fd00:198:18:150::12 dev eth0 proto 211", steps);
        Assert.DoesNotContain(steps, s => s.Contains("fd00:10:244:2:: dev flannel-v6.1", StringComparison.Ordinal));
        Assert.DoesNotContain(steps, s => s.Contains($"{LeaseOf(spec, 2).VtepMac6!.Value.Text} dev flannel-v6.1", StringComparison.Ordinal));
        // node3's address6 is behind the router: the VXLAN path, neighbour, fdb entry and onlink route.
        Assert.Contains($"bridge fdb replace {LeaseOf(spec, 3).VtepMac6!.Value.Text} dev flannel-v6.1 self dst fd00:198:18:151::13 permanent", steps);
        Assert.Contains("ip route replace fd00:10:244:3::/64 via fd00:10:244:3:: dev flannel-v6.1 onlink proto 211", steps);
        // Its IPv4 address is on-link, so IPv4 goes direct: each family decides on its own underlay.
        Assert.Contains("ip route replace 10.244.3.0/24 via 192.0.2.13 dev eth0 proto 211", steps);
    }

    [Fact]
    public void WithoutAnIPv6UnderlayRouteToItAPeerKeepsTheVxlanPath()
    {
        var spec = Spec(directRouting: true);
        var plan = Planner.PlanApply(DirectInput(spec, Fresh() with { Ipv6 = Fresh().Ipv6! with { Routes = [] } }));
        var steps = plan.Operations.SelectMany(o => o.Steps).Select(s => s.Render()).ToList();
        Assert.Contains("ip route replace fd00:10:244:2::/64 via fd00:10:244:2:: dev flannel-v6.1 onlink proto 211", steps);
        Assert.Contains("ip route replace 10.244.2.0/24 via 192.0.2.12 dev eth0 proto 211", steps);
    }

    [Fact]
    public void TurningDirectRoutingOnReplacesTheVxlanRouteAndRemovesThePeersNeighbourAndFdbEntry()
    {
        var spec = Spec(directRouting: true);
        var device = VxlanBackend.Device6Name(spec);
        var mine = LeaseOf(spec, 1);
        var node2 = LeaseOf(spec, 2);
        var underlay6 = DirectUnderlay6();
        var observed = Fresh() with
        {
            Links = [.. Lab.Fresh().Links,
                new LinkInfo(4, device, "vxlan", 1430, mine.VtepMac6, true, null, "overlayctl", new VxlanInfo(1, null, "eth0", 8472, false) { Local6 = IPAddress.Parse("fd00:198:18:150::11") })],
            Ipv6 = underlay6 with
            {
                Addresses = [.. underlay6.Addresses, new Address6Info(device, mine.Subnet6!.Value.BaseAddress, 128)],
                Routes = [.. underlay6.Routes, new Route6Info(node2.Subnet6, node2.Subnet6!.Value.BaseAddress, device, true, Ops.RouteProtocol)],
                Neighbors = [new Neighbor6Info(node2.Subnet6!.Value.BaseAddress, device, node2.VtepMac6, true)],
                Fdb = [new Fdb6Info(node2.VtepMac6!.Value, device, node2.PublicIpv6!, true)],
            },
        };
        var plan = Planner.PlanApply(new PlanInput(spec, spec.Hosts[0], mine, [new Peer(node2, "node2")], observed));
        var v6 = plan.Operations.Where(o => o.Address.ToString().Contains("fd00:10:244:2::", StringComparison.Ordinal) || o.Address.Kind == ResourceKind.FdbEntry && o.Render().Contains(device, StringComparison.Ordinal))
            .Select(o => $"{o.Kind} {o.Address}").ToList();
        Assert.Equal([$"Remove neigh fd00:10:244:2::", $"Remove fdb {node2.VtepMac6!.Value.Text}", "Replace route fd00:10:244:2::/64"], v6);
        Assert.Contains("ip route replace fd00:10:244:2::/64 via fd00:198:18:150::12 dev eth0 proto 211", plan.Operations.SelectMany(o => o.Steps).Select(s => s.Render()));
    }

    [Fact]
    public void AnIPv6PeerOnLinkByItsUnderlayRouteIsToldApartFromOneBehindAGateway()
    {
        var routes = Underlay.UnderlayRoutes6(DirectUnderlay6() with
        {
            Routes = [.. DirectUnderlay6().Routes,
                new Route6Info(Ipv6.Parse("fd00:198:18:152::/64"), IPAddress.Parse("fd00:198:18:150::1"), "eth0", false, "static"),
                new Route6Info(Ipv6.Parse("fd00:10:244:2::/64"), null, "eth0", false, Ops.RouteProtocol)],
        }, Ipv6.Parse("fd00:10:244::/48"));
        Assert.True(Underlay.IsOnLink(routes, IPAddress.Parse("fd00:198:18:150::12")));
        Assert.False(Underlay.IsOnLink(routes, IPAddress.Parse("fd00:198:18:151::13")));
        Assert.False(Underlay.IsOnLink(routes, IPAddress.Parse("fd00:198:18:152::13")));
        // A device route of the overlay's own is not an underlay route: its peers are never "on-link" by it.
        Assert.False(Underlay.IsOnLink(routes, IPAddress.Parse("fd00:10:244:2::5")));
        Assert.False(Underlay.IsOnLink(Underlay.UnderlayRoutes6(null, null), IPAddress.Parse("fd00:198:18:150::12")));
    }

    [Fact]
    public void StatusNamesFlannelV6AndItsStateOnADualStackHostAndNothingOnAnIPv4OnlyOne()
    {
        var spec = Spec();
        var lease = LeaseOf(spec, 1);
        var device = VxlanBackend.Device6Name(spec);
        var missing = spec.Network.Backend.Status(spec, lease, Fresh(), Planner.PlanApply(Input(spec, Fresh())));
        Assert.Equal((device, "missing"), (missing.Device6, missing.Device6State));
        var up = Fresh() with { Links = [.. Lab.Fresh().Links, new LinkInfo(4, device, "vxlan", 1430, lease.VtepMac6, true, null, "overlayctl", null)] };
        Assert.Equal("up", spec.Network.Backend.Status(spec, lease, up, new HostPlan("node1", [])).Device6State);
        var wrong = up with { Links = [.. Lab.Fresh().Links, new LinkInfo(4, device, "vxlan", 1430, lease.VtepMac, true, null, "overlayctl", null)] };
        Assert.Equal("wrong-mac", spec.Network.Backend.Status(spec, lease, wrong, new HostPlan("node1", [])).Device6State);

        var ipv4 = Spec(dual: false);
        var status = ipv4.Network.Backend.Status(ipv4, Lab.LeaseOf(ipv4, 1), Lab.Fresh(), new HostPlan("node1", []));
        Assert.Equal((null, null), (status.Device6, status.Device6State));
    }
}
