using BenchmarkDotNet.Attributes;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Bench;

/// <summary>
/// Planner scaling: one host with N peers, fresh (everything to add) and converged (nothing to do).
/// Time and allocations per peer should stay flat as N grows.
/// </summary>
[MemoryDiagnoser]
public class PlannerBenchmarks
{
    private PlanInput _fresh = null!;
    private PlanInput _converged = null!;

    [Params(100, 1_000, 5_000)]
    public int Peers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var spec = SpecLoader.Parse("""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: bench
            network:
              cidr: 10.0.0.0/8
            docker:
              daemonConfig: null
              subnetEnv: null
            hosts:
              - name: node0
                address: 192.0.2.1
                interface: eth0
            """, "bench.yaml");
        var host = spec.Hosts[0];
        var lease = LeaseFor(spec, 0);
        var peers = Enumerable.Range(1, Peers).Select(i => new Peer(LeaseFor(spec, i), null)).ToList();
        var fresh = new ObservedHost(
            [new LinkInfo(2, "eth0", "veth", 1500, null, true, null, null, null)],
            [new AddressInfo("eth0", new InterfaceAddress(host.Address, 16))],
            [new RouteInfo(Ipv4Cidr.Parse("192.0.0.0/16"), null, "eth0", false, "kernel")],
            [], [], IptablesState.Empty, true, new Dictionary<string, string?>(), null);
        _fresh = new PlanInput(spec, host, lease, peers, fresh);
        var device = "flannel.1";
        var converged = fresh with
        {
            Links = [.. fresh.Links,
                new LinkInfo(3, "docker0", "bridge", 1500, null, true, null, "overlayctl", null),
                new LinkInfo(4, device, "vxlan", 1450, lease.VtepMac, true, null, null, new VxlanInfo(1, host.Address, "eth0", 8472, false))],
            Addresses = [.. fresh.Addresses, new AddressInfo("docker0", new InterfaceAddress(lease.Subnet.Gateway, 24)), new AddressInfo(device, new InterfaceAddress(lease.Subnet.Network, 32))],
            Routes = [.. fresh.Routes, .. peers.Select(p => new RouteInfo(p.Lease.Subnet, p.Lease.Subnet.Network, device, true, Ops.RouteProtocol))],
            Neighbors = peers.Select(p => new NeighborInfo(p.Lease.Subnet.Network, device, p.Lease.VtepMac, true)).ToList(),
            Fdb = peers.Select(p => new FdbInfo(p.Lease.VtepMac!.Value, device, p.Lease.PublicIp, true, true)).ToList(),
        };
        _converged = _fresh with { Observed = converged };
    }

    [Benchmark]
    public int PlanFreshHost() => Planner.PlanApply(_fresh).Operations.Count;

    [Benchmark]
    public int PlanConvergedHost() => Planner.PlanApply(_converged).Operations.Count;

    private static Lease LeaseFor(ClusterSpec spec, int i)
    {
        var subnet = new Ipv4Cidr(new Ipv4Address(Ipv4Address.Parse("10.0.1.0").Value + ((uint)i << 8)), 24);
        var address = new Ipv4Address(Ipv4Address.Parse("192.0.2.1").Value + (uint)i);
        return new Lease(subnet, address, "vxlan", 1, MacAddress.ForVtep(spec.Network.Cidr, address));
    }
}
