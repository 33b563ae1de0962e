using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Planning;

/// <summary>Golden plans: what operators read, pinned. Each scenario also asserts the behaviour that matters.</summary>
public sealed class PlannerTests
{
    private static string Render(HostPlan plan) => PlanRenderer.Render(new Plan([plan]));

    [Fact]
    public void AnEarlierApplysUnfinishedDockerRestartIsDueOnAConvergedHostAndDestroyTakesItsNoteAway()
    {
        var spec = Lab.Spec(docker: "  restart: [systemctl, restart, docker]");
        const string Pending = "/run/lab/node1/daemon.json.overlayctl.restart";
        var converged = Lab.Converged(spec, 2);
        Assert.True(Planner.PlanApply(Lab.Input(spec, converged, 2)).IsEmpty);
        var noted = converged with { Files = new Dictionary<string, string?>(converged.Files) { [Pending] = "10.244.1.1/24\n" } };
        var plan = Planner.PlanApply(Lab.Input(spec, noted, 2));
        var op = Assert.Single(plan.Operations);
        Assert.Equal((ChangeKind.Remove, ResourceAddress.File(Pending)), (op.Kind, op.Address));
        Assert.Contains(plan.Warnings, w => w.Contains("its docker.restart did not finish", StringComparison.Ordinal));
        Assert.Contains(Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), noted).Operations, o => o.Address == ResourceAddress.File(Pending));
    }

    [Fact]
    public void AFreshHostGetsBridgeDeviceTunnelsRulesAndFiles()
    {
        var spec = Lab.Spec();
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Fresh(), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "fresh-host.txt", Render(plan));
        Assert.Equal(0, plan.Count(ChangeKind.Remove));
    }

    [Fact]
    public void AConvergedHostPlansNothing()
    {
        var spec = Lab.Spec();
        Assert.Empty(Planner.PlanApply(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2, 3)).Operations);
    }

    [Fact]
    public void AnAddedPeerGetsExactlyItsNeighbourFdbEntryAndRoute()
    {
        var spec = Lab.Spec();
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Converged(spec, 2), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "peer-added.txt", Render(plan));
        Assert.Equal(["neigh 10.244.3.0", "fdb " + Lab.LeaseOf(spec, 3).VtepMac, "route 10.244.3.0/24"], plan.Operations.Select(o => o.Address.ToString()));
    }

    [Fact]
    public void ARemovedPeerLosesItsRouteNeighbourAndFdbEntry()
    {
        var spec = Lab.Spec();
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2));
        Golden.Match("OverlayCtl.Core.Tests", "peer-removed.txt", Render(plan));
        Assert.All(plan.Operations, o => Assert.Equal(ChangeKind.Remove, o.Kind));
        Assert.Equal(3, plan.Operations.Count);
    }

    [Fact]
    public void ADeviceWithTheWrongMacIsRecreatedAndItsPeersReprogrammed()
    {
        var spec = Lab.Spec();
        var converged = Lab.Converged(spec, 2);
        var drifted = converged with
        {
            Links = converged.Links.Select(l => l.Name == "flannel.1" ? l with { Mac = MacAddress.Parse("02:00:00:00:00:01") } : l).ToList(),
        };
        var plan = Planner.PlanApply(Lab.Input(spec, drifted, 2));
        Golden.Match("OverlayCtl.Core.Tests", "drifted-device.txt", Render(plan));
        var replace = plan.Operations[0];
        Assert.Equal((ChangeKind.Replace, ResourceAddress.Link("flannel.1")), (replace.Kind, replace.Address));
        Assert.Equal("ip link del flannel.1", replace.Steps[0].Render());
        Assert.StartsWith("ip link add flannel.1 address 9a:0d:ac:e0:ff:33 ", replace.Steps[1].Render(), StringComparison.Ordinal);
        Assert.Equal(1, plan.Count(ChangeKind.Replace));
        Assert.Equal(0, plan.Count(ChangeKind.Change));
    }

    [Fact]
    public void StatusCountsThePeersOfAReplacedDeviceAsMissing()
    {
        var spec = Lab.Spec();
        var converged = Lab.Converged(spec, 2);
        var drifted = converged with
        {
            Links = converged.Links.Select(l => l.Name == "flannel.1" ? l with { Mac = MacAddress.Parse("02:00:00:00:00:01") } : l).ToList(),
        };
        var plan = Planner.PlanApply(Lab.Input(spec, drifted, 2));
        var status = spec.Network.Backend.Status(spec, Lab.LeaseOf(spec, 1), drifted, plan);
        Assert.Equal(("wrong-mac", 1), (status.DeviceState, status.PeersMissing));
    }

    [Fact]
    public void ForeignRulesRoutesAndDockerChainsAreLeftAlone()
    {
        var spec = Lab.Spec();
        var converged = Lab.Converged(spec, 2);
        var filter = converged.Iptables.Table("filter");
        var nat = converged.Iptables.Table("nat");
        var foreign = converged with
        {
            Routes = [.. converged.Routes, new RouteInfo(Ipv4Cidr.Parse("198.51.100.0/24"), Ipv4Address.Parse("192.0.2.1"), "eth0", false, "boot")],
            Iptables = new IptablesState(new Dictionary<string, IptablesTable>
            {
                ["filter"] = filter with
                {
                    Chains = new Dictionary<string, string?>(filter.Chains) { ["FORWARD"] = "DROP", ["DOCKER"] = null, ["DOCKER-USER"] = null },
                    Rules = ["-A FORWARD -j DOCKER-USER", .. filter.Rules, "-A FORWARD -o docker0 -j DOCKER", "-A DOCKER-USER -j RETURN"],
                },
                ["nat"] = nat with { Rules = [.. nat.Rules, "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"] },
            }),
        };
        Assert.Empty(Planner.PlanApply(Lab.Input(spec, foreign, 2)).Operations);
        var destroy = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), foreign);
        var rendered = Render(destroy);
        Assert.DoesNotContain("DOCKER", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("198.51.100.0", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("172.17.0.0", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void TurningMasqueradeOffRemovesOurNatChainAndTellsDocker()
    {
        var on = Lab.Spec();
        var off = Lab.Spec(ipMasq: false);
        var plan = Planner.PlanApply(Lab.Input(off, Lab.Converged(on, 2), 2));
        Golden.Match("OverlayCtl.Core.Tests", "ipmasq-off.txt", Render(plan));
        var daemon = Assert.IsType<FileStep>(plan.Operations.Single(o => o.Address == ResourceAddress.File("/run/lab/node1/daemon.json")).Steps.Single());
        Assert.Contains("\"ip-masq\": true", daemon.Content, StringComparison.Ordinal);
    }

    [Fact]
    public void DaemonJsonKeepsTheOperatorsKeys()
    {
        var spec = Lab.Spec();
        var fresh = Lab.Fresh() with { Files = new Dictionary<string, string?> { ["/run/lab/node1/daemon.json"] = """{ "log-driver": "journald", "mtu": 9000, "default-ulimits": { "nofile": { "Name": "nofile", "Hard": 64000, "Soft": 64000 } } }""" } };
        var plan = Planner.PlanApply(Lab.Input(spec, fresh, 2));
        var daemon = Assert.IsType<FileStep>(plan.Operations.Single(o => o.Address == ResourceAddress.File("/run/lab/node1/daemon.json")).Steps.Single());
        Golden.Match("OverlayCtl.Core.Tests", "daemon-json-merged.txt", daemon.Content!);
    }

    [Fact]
    public void AnUnreadableDaemonJsonIsRefusedNotOverwritten()
    {
        var spec = Lab.Spec();
        var fresh = Lab.Fresh() with { Files = new Dictionary<string, string?> { ["/run/lab/node1/daemon.json"] = "{ not json" } };
        var e = Assert.Throws<PlanningException>(() => Planner.PlanApply(Lab.Input(spec, fresh, 2)));
        Assert.Contains("/run/lab/node1/daemon.json is not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DestroyRemovesExactlyWhatApplyMade()
    {
        var spec = Lab.Spec();
        var plan = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), Lab.Converged(spec, 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "destroy.txt", Render(plan));
        Assert.Empty(Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), Lab.Fresh()).Operations);
    }

    [Fact]
    public void HostGwRoutesEachPeerViaItsUnderlayAddress()
    {
        var spec = Lab.Spec(backend: "host-gw");
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Fresh(), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "host-gw-fresh.txt", Render(plan));
        Assert.Empty(Planner.PlanApply(Lab.Input(spec, Lab.Converged(spec, 2, 3), 2, 3)).Operations);
    }

    [Fact]
    public void HostGwRefusesAPeerBehindAGatewayNamingIt()
    {
        var spec = Lab.Spec(backend: "host-gw");
        var input = Lab.Input(spec, Lab.Fresh(), 2) with
        {
            Peers = [new Peer(Lab.LeaseOf(spec, 2) with { PublicIp = Ipv4Address.Parse("198.51.100.7") }, "node2")],
        };
        var e = Assert.Throws<PlanningException>(() => Planner.PlanApply(input));
        Assert.Contains("node2 (198.51.100.7)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SwitchingFromVxlanToHostGwRemovesTheVxlanDevice()
    {
        var vxlan = Lab.Spec();
        var hostGw = Lab.Spec(backend: "host-gw");
        var plan = Planner.PlanApply(Lab.Input(hostGw, Lab.Converged(vxlan, 2), 2));
        Golden.Match("OverlayCtl.Core.Tests", "switch-vxlan-to-host-gw.txt", Render(plan));
        Assert.Equal("ip link del flannel.1", plan.Operations[0].Render());
    }

    [Fact]
    public void AVniChangeRemovesTheOldDeviceOverlayctlMadeAndBuildsTheNewOne()
    {
        var before = Lab.Spec(extra: "  vni: 1");
        var after = Lab.Spec(extra: "  vni: 2");
        var plan = Planner.PlanApply(Lab.Input(after, Lab.Converged(before, 2), 2));
        Golden.Match("OverlayCtl.Core.Tests", "vni-changed.txt", Render(plan));
        Assert.Equal("ip link del flannel.1", plan.Operations[0].Render());
        Assert.Contains(plan.Operations, o => o.Render().StartsWith("ip link add flannel.2 ", StringComparison.Ordinal));
        // Its routes, neighbours and address go with the device: nothing else may name it.
        Assert.DoesNotContain(plan.Operations.Skip(1), o => o.Render().Contains("flannel.1", StringComparison.Ordinal));
        Assert.Empty(Planner.PlanApply(Lab.Input(after, Lab.Converged(after, 2), 2)).Operations);
    }

    [Fact]
    public void AFlannelDeviceForAnotherVniWithoutOurMarkIsLeftAlone()
    {
        var spec = Lab.Spec(extra: "  vni: 2");
        var converged = Lab.Converged(spec, 2);
        var foreign = converged with
        {
            Links = [.. converged.Links, new LinkInfo(8, "flannel.1", "vxlan", 1450, null, true, null, null, new VxlanInfo(1, Ipv4Address.Parse("192.0.2.11"), "eth0", 8472, false))],
        };
        Assert.Empty(Planner.PlanApply(Lab.Input(spec, foreign, 2)).Operations);
        Assert.DoesNotContain(Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), foreign).Operations, o => o.Address == ResourceAddress.Link("flannel.1"));
    }

    [Fact]
    public void DestroyAfterAVniChangeRemovesTheOldDeviceTooAndNoRouteTwice()
    {
        var before = Lab.Spec(extra: "  vni: 1");
        var after = Lab.Spec(extra: "  vni: 2");
        var plan = Planner.PlanDestroy(after, after.Hosts[0], Lab.LeaseOf(after, 1), Lab.Converged(before, 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "vni-changed-destroy.txt", Render(plan));
        Assert.Equal("ip link del flannel.1", plan.Operations[0].Render());
        Assert.DoesNotContain(plan.Operations, o => o.Render().StartsWith("ip route del", StringComparison.Ordinal));
    }

    [Fact]
    public void ADeviceAnEarlierVersionMadeWithoutTheMarkGetsItAndNothingElse()
    {
        var spec = Lab.Spec();
        var converged = Lab.Converged(spec, 2);
        var unmarked = converged with { Links = converged.Links.Select(l => l.Name == "flannel.1" ? l with { Alias = null } : l).ToList() };
        var op = Assert.Single(Planner.PlanApply(Lab.Input(spec, unmarked, 2)).Operations);
        Assert.Equal((ChangeKind.Change, "ip link set dev flannel.1 alias overlayctl"), (op.Kind, op.Render()));
    }

    [Fact]
    public void StatusSeesTheOldDeviceAsDriftAndTheNewOneAsMissing()
    {
        var before = Lab.Spec(extra: "  vni: 1");
        var after = Lab.Spec(extra: "  vni: 2");
        var observed = Lab.Converged(before, 2);
        var plan = Planner.PlanApply(Lab.Input(after, observed, 2));
        var status = after.Network.Backend.Status(after, Lab.LeaseOf(after, 1), observed, plan);
        Assert.Equal(("flannel.2", "missing", 1), (status.Device, status.DeviceState, status.PeersMissing));
        Assert.Contains(plan.Operations, o => (o.Kind, o.Address) == (ChangeKind.Remove, ResourceAddress.Link("flannel.1")));
    }

    [Fact]
    public void DirectRoutingSendsOnLinkPeersStraightToTheirUnderlayAddress()
    {
        var spec = Lab.Spec(extra: "  directRouting: true");
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Fresh(), 2));
        Assert.Contains(plan.Operations, o => o.Render() == "ip route replace 10.244.2.0/24 via 192.0.2.12 dev eth0 proto 211");
        Assert.DoesNotContain(plan.Operations, o => o.Address.Kind == ResourceKind.FdbEntry);
    }

    [Fact]
    public void AHostWithoutItsUnderlayAddressIsRefusedWithTheFix()
    {
        var spec = Lab.Spec();
        var bare = Lab.Fresh() with { Addresses = [] };
        var e = Assert.Throws<PlanningException>(() => Planner.PlanApply(Lab.Input(spec, bare, 2)));
        Assert.Contains("no interface holds 192.0.2.11", e.Message, StringComparison.Ordinal);
    }
}
