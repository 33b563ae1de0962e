using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Planning;

/// <summary>The WireGuard backend's plans, pinned: the key made on the host first, the device, its peers, one route; and what leaves.</summary>
public sealed class WireGuardPlannerTests
{
    private const string PerHostKey = "  wireguard: { keyFile: \"/etc/wg/{host}.key\" }";

    internal static ClusterSpec Spec() => Lab.Spec(backend: "wireguard", extra: PerHostKey);

    private static string Render(HostPlan plan) => PlanRenderer.Render(new Plan([plan]));

    private static List<string> Commands(HostPlan plan) => plan.Operations.Select(o => o.Render()).ToList();

    /// <summary>A public key per node, as wg pubkey prints one.</summary>
    internal static string Key(int n) => Convert.ToBase64String(Enumerable.Repeat((byte)(n * 17), 32).ToArray());

    internal static Lease LeaseOf(ClusterSpec spec, int n) => Lab.LeaseOf(spec, n) with { PublicKey = Key(n) };

    internal static PlanInput Input(ClusterSpec spec, ObservedHost observed, params int[] peers) =>
        new(spec, spec.Hosts[0], LeaseOf(spec, 1), peers.Select(p => new Peer(LeaseOf(spec, p), $"node{p}")).ToList(), observed);

    /// <summary>node1 as an apply with wireguard-go leaves it, with the given peers.</summary>
    internal static ObservedHost Converged(ClusterSpec spec, params int[] peers)
    {
        var host = Lab.Converged(spec);
        var device = WireGuardBackend.DeviceName;
        return host with
        {
            Links = [.. host.Links, new LinkInfo(9, device, "tun", 1420, null, true, null, null, null)],
            Addresses = [.. host.Addresses, new AddressInfo(device, new InterfaceAddress(Ipv4Address.Parse("10.244.1.0"), 32))],
            Routes = [.. host.Routes, new RouteInfo(Ipv4Cidr.Parse("10.244.0.0/16"), null, device, false, Ops.RouteProtocol)],
            Files = new Dictionary<string, string?>(host.Files) { ["/run/overlayctl/wireguard-lab-node1.pid"] = "4242\n" },
            PublicKeys = new Dictionary<string, string?> { ["/etc/wg/node1.key"] = Key(1) },
            WireGuard = new Dictionary<string, WireGuardDevice>
            {
                [device] = new(Key(1), 51820, peers.Select(p => new WireGuardPeer(Key(p), $"192.0.2.1{p}:51820", [$"10.244.{p}.0/24"], null, 0)).ToList()),
            },
        };
    }

    [Fact]
    public void AFreshHostMakesItsKeyFirstThenTheDeviceItsPeersAndOneRouteForTheNetwork()
    {
        var spec = Spec();
        var plan = Planner.PlanApply(Input(spec, Lab.Fresh(), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "wireguard-fresh.txt", Render(plan));
        Assert.Equal("file /etc/wg/node1.key", plan.Operations[0].Address.ToString());
        Assert.StartsWith("sh -c '<wireguard-genkey>' sh /etc/wg/node1.key", plan.Operations[0].Render(), StringComparison.Ordinal);
        Assert.Contains("sh -c '<wireguard-up>' sh auto flannel-wg /run/overlayctl/wireguard-lab-node1.pid", Commands(plan));
        Assert.Contains("wg set flannel-wg private-key /etc/wg/node1.key", Commands(plan));
        Assert.Contains($"wg set flannel-wg peer {Key(3)} endpoint 192.0.2.13:51820 allowed-ips 10.244.3.0/24 persistent-keepalive off", Commands(plan));
        Assert.Contains("ip route replace 10.244.0.0/16 dev flannel-wg proto 211", Commands(plan));
        Assert.Contains("ip link set dev flannel-wg mtu 1420", Commands(plan));
        Assert.DoesNotContain(plan.Operations, o => o.Address.Kind == ResourceKind.Route && o.Address.Name != "10.244.0.0/16");
    }

    [Fact]
    public void AConvergedHostPlansNothing() =>
        Assert.Empty(Planner.PlanApply(Input(Spec(), Converged(Spec(), 2, 3), 2, 3)).Operations);

    [Fact]
    public void APeerThatLeftIsRemovedFromTheDeviceAndNothingElseMoves() =>
        Assert.Equal([$"wg set flannel-wg peer {Key(3)} remove"], Commands(Planner.PlanApply(Input(Spec(), Converged(Spec(), 2, 3), 2))));

    [Fact]
    public void APeerWhosePortOrSubnetChangedIsSetAgainShowingBeforeAndAfter()
    {
        var spec = Spec();
        var input = Input(spec, Converged(spec, 2), 2);
        input = input with { Peers = [new Peer(LeaseOf(spec, 2) with { Port = 51821 }, "node2")] };
        var op = Assert.Single(Planner.PlanApply(input).Operations);
        Assert.Equal(ChangeKind.Change, op.Kind);
        Assert.Equal($"peer {Key(2)} on flannel-wg: endpoint 192.0.2.12:51820 allowed-ips 10.244.2.0/24 keepalive off → endpoint 192.0.2.12:51821 allowed-ips 10.244.2.0/24 keepalive off", op.Title);
    }

    [Fact]
    public void APeerWithoutAPublicKeyYetIsNamedNotProgrammed()
    {
        var spec = Spec();
        var input = Input(spec, Converged(spec, 2), 2) with { Peers = [new Peer(LeaseOf(spec, 2), "node2"), new Peer(Lab.LeaseOf(spec, 3), "node3")] };
        var plan = Planner.PlanApply(input);
        Assert.Empty(plan.Operations);
        Assert.Equal("peer node3 (10.244.3.0/24) has no WireGuard public key in its lease yet (its key is made on that host, known after apply there): added once it has one", Assert.Single(plan.Warnings));
    }

    [Fact]
    public void AHostWithItsKeyPlansNoKeyAndAChangedKeyIsSetFromTheFile()
    {
        var spec = Spec();
        Assert.Empty(new WireGuardBackend().PrepareLease(spec, spec.Hosts[0], Converged(spec)));
        var rotated = Converged(spec, 2) with { PublicKeys = new Dictionary<string, string?> { ["/etc/wg/node1.key"] = Key(7) } };
        var op = Assert.Single(Planner.PlanApply(Input(spec, rotated, 2)).Operations);
        Assert.Equal("wg set flannel-wg private-key /etc/wg/node1.key", op.Render());
        Assert.Equal($"link flannel-wg private-key: public key {Key(1)} → public key {Key(7)}", op.Title);
    }

    [Fact]
    public void RotatingKeysReplacesTheKeyFileOnTheHostAndOtherBackendsHaveNone()
    {
        var spec = Spec();
        var op = Assert.Single(new WireGuardBackend().RotateKeys(spec, spec.Hosts[0], Converged(spec, 2)));
        Assert.Equal(ChangeKind.Replace, op.Kind);
        Assert.Equal($"file /etc/wg/node1.key: public key {Key(1)} → a new private key generated on the host (public key known after apply)", op.Title);
        Assert.Equal("sh -c '<wireguard-rotate>' sh /etc/wg/node1.key", op.Render());
        var vxlan = Lab.Spec();
        Assert.Empty(vxlan.Network.Backend.RotateKeys(vxlan, vxlan.Hosts[0], Lab.Converged(vxlan, 2)));
    }

    [Fact]
    public void SwitchingFromVxlanRemovesFlannel1WithItsRoutes()
    {
        var plan = Planner.PlanApply(Input(Spec(), Lab.Converged(Lab.Spec(), 2, 3), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "switch-vxlan-to-wireguard.txt", Render(plan));
        Assert.Contains("ip link del flannel.1", Commands(plan));
        Assert.DoesNotContain(plan.Operations, o => o.Render().StartsWith("ip route del", StringComparison.Ordinal));
    }

    [Fact]
    public void SwitchingToVxlanRemovesTheDeviceAndStopsWireguardGo()
    {
        var vxlan = Lab.Spec(extra: PerHostKey);
        var plan = Planner.PlanApply(Lab.Input(vxlan, Converged(Spec(), 2, 3), 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "switch-wireguard-to-vxlan.txt", Render(plan));
        Assert.Equal(["ip link del flannel-wg", "sh -c '<wireguard-stop>' sh /run/overlayctl/wireguard-lab-node1.pid"], Commands(plan).Take(2));
        Assert.DoesNotContain(plan.Operations, o => o.Render().StartsWith("ip route del", StringComparison.Ordinal));
    }

    [Fact]
    public void DestroyRemovesTheDeviceAndStopsWireguardGoButKeepsTheKey()
    {
        var spec = Spec();
        var plan = Planner.PlanDestroy(spec, spec.Hosts[0], LeaseOf(spec, 1), Converged(spec, 2, 3));
        Golden.Match("OverlayCtl.Core.Tests", "wireguard-destroy.txt", Render(plan));
        Assert.Equal(["ip link del flannel-wg", "sh -c '<wireguard-stop>' sh /run/overlayctl/wireguard-lab-node1.pid"], Commands(plan).Take(2));
        Assert.DoesNotContain(plan.Operations, o => o.Address.ToString().Contains(".key", StringComparison.Ordinal));
    }
}
