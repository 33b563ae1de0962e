using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.Ovs;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Tests.Support;

/// <summary>Plain-value hosts for planner tests: a spec, leases, and observed states fresh or converged.</summary>
internal static class Lab
{
    public static ClusterSpec Spec(string backend = "vxlan", bool ipMasq = true, string extra = "", string docker = "") => SpecLoader.Parse($"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: lab
        network:
          cidr: 10.244.0.0/16
          backend: {backend}
          ipMasq: {(ipMasq ? "true" : "false")}
        {extra}
        docker:
          daemonConfig: /run/lab/{"{host}"}/daemon.json
          subnetEnv: /run/lab/{"{host}"}/subnet.env
        {docker}
        hosts:
          - name: node1
            address: 192.0.2.11
          - name: node2
            address: 192.0.2.12
          - name: node3
            address: 192.0.2.13
        """, "lab.yaml");

    /// <summary>node<paramref name="n"/>'s lease as apply writes it, the backend's data included.</summary>
    public static Lease LeaseOf(ClusterSpec spec, int n)
    {
        var request = BackendRegistry.RequestFor(spec, spec.Hosts[n - 1]);
        return new(Ipv4Cidr.Parse($"10.244.{n}.0/24"), request.PublicIp, request.BackendType, request.Vni, request.VtepMac);
    }

    public static PlanInput Input(ClusterSpec spec, ObservedHost observed, params int[] peers) =>
        new(spec, spec.Hosts[0], LeaseOf(spec, 1), peers.Select(p => new Peer(LeaseOf(spec, p), $"node{p}")).ToList(), observed);

    /// <summary>A host as the lab makes it: lo and eth0 with its underlay address, nothing else.</summary>
    public static ObservedHost Fresh() => new(
        [new LinkInfo(1, "lo", null, 65536, MacAddress.Parse("00:00:00:00:00:00"), true, null, null, null),
         new LinkInfo(2, "eth0", "veth", 1500, MacAddress.Parse("8e:b4:fb:2f:7d:2c"), true, null, null, null)],
        [new AddressInfo("eth0", InterfaceAddress.TryParse("192.0.2.11/24", out var a) ? a : default)],
        [new RouteInfo(Ipv4Cidr.Parse("192.0.2.0/24"), null, "eth0", false, "kernel")],
        [], [], IptablesState.Empty, false, new Dictionary<string, string?>(), null);

    /// <summary>node1 exactly as an apply of <paramref name="spec"/> leaves it with the given peers.</summary>
    public static ObservedHost Converged(ClusterSpec spec, params int[] peers)
    {
        var fresh = Fresh();
        var lease = LeaseOf(spec, 1);
        var links = fresh.Links.ToList();
        var addresses = fresh.Addresses.ToList();
        var routes = fresh.Routes.ToList();
        var neighbors = new List<NeighborInfo>();
        var fdb = new List<FdbInfo>();
        links.Add(new LinkInfo(3, "docker0", "bridge", 1500, MacAddress.Parse("d2:a6:d4:bd:7c:99"), true, null, "overlayctl", null));
        addresses.Add(new AddressInfo("docker0", new InterfaceAddress(lease.Subnet.Gateway, 24)));
        routes.Add(new RouteInfo(lease.Subnet, null, "docker0", false, "kernel"));
        var vxlan = VxlanBackend.SettingsOf(spec);
        var device = VxlanBackend.DeviceName(spec);
        if (spec.Network.Backend is VxlanBackend)
        {
            links.Add(new LinkInfo(4, device, "vxlan", 1450, lease.VtepMac, true, null, "overlayctl", new VxlanInfo(vxlan.Vni, lease.PublicIp, "eth0", vxlan.Port, false)));
            addresses.Add(new AddressInfo(device, new InterfaceAddress(lease.Subnet.Network, 32)));
        }
        OvsState? ovs = null;
        if (spec.Network.Backend is OvsBackend)
        {
            links.Add(new LinkInfo(5, "br-overlay", "openvswitch", 1450, MacAddress.Parse("6a:1f:00:00:00:01"), true, null, null, null));
            addresses.Add(new AddressInfo("br-overlay", new InterfaceAddress(lease.Subnet.Network, 32)));
            var none = new Dictionary<string, string>();
            var ports = new List<OvsPort> { new("br-overlay", "internal", none, 1450, false) };
            ports.AddRange(peers.Select(p => LeaseOf(spec, p)).Select(peer => new OvsPort(
                "vx-" + peer.PublicIp.Value.ToString("x8", System.Globalization.CultureInfo.InvariantCulture), "vxlan",
                new Dictionary<string, string> { ["remote_ip"] = peer.PublicIp.ToString(), ["key"] = $"{vxlan.Vni}", ["dst_port"] = $"{vxlan.Port}" }, null, true)));
            ovs = new OvsState([new OvsBridge("br-overlay", OvsBackend.SettingsOf(spec).DatapathType, ports, new Dictionary<string, string> { ["overlayctl-cluster"] = "lab" })]);
        }
        foreach (var p in peers)
        {
            var peer = LeaseOf(spec, p);
            if (spec.Network.Backend is OvsBackend)
            {
                routes.Add(new RouteInfo(peer.Subnet, peer.Subnet.Network, "br-overlay", true, Ops.RouteProtocol));
            }
            else if (spec.Network.Backend is VxlanBackend)
            {
                neighbors.Add(new NeighborInfo(peer.Subnet.Network, device, peer.VtepMac, true));
                fdb.Add(new FdbInfo(peer.VtepMac!.Value, device, peer.PublicIp, true, true));
                routes.Add(new RouteInfo(peer.Subnet, peer.Subnet.Network, device, true, Ops.RouteProtocol));
            }
            else
            {
                routes.Add(new RouteInfo(peer.Subnet, peer.PublicIp, "eth0", false, Ops.RouteProtocol));
            }
        }
        var mtu = spec.Network.OverlayMtu(1500);
        var filter = new IptablesTable(
            new Dictionary<string, string?> { ["INPUT"] = "ACCEPT", ["FORWARD"] = "ACCEPT", ["OUTPUT"] = "ACCEPT", [IptablesRules.ForwardChain] = null },
            [IptablesRules.Jump("FORWARD", IptablesRules.ForwardChain), .. IptablesRules.ForwardRules(spec.Network.Cidr)]);
        var nat = new IptablesTable(
            new Dictionary<string, string?> { ["PREROUTING"] = "ACCEPT", ["INPUT"] = "ACCEPT", ["OUTPUT"] = "ACCEPT", ["POSTROUTING"] = "ACCEPT", [IptablesRules.MasqueradeChain] = null },
            [IptablesRules.Jump("POSTROUTING", IptablesRules.MasqueradeChain), .. IptablesRules.MasqueradeRules(spec.Network.Cidr, lease.Subnet)]);
        var files = new Dictionary<string, string?>
        {
            ["/run/lab/node1/daemon.json"] = DockerFiles.MergeDaemonConfig("d", "{}", lease.Subnet, mtu, spec.Network.IpMasq),
            ["/run/lab/node1/subnet.env"] = DockerFiles.SubnetEnv(spec.Network.Cidr, lease.Subnet, mtu, spec.Network.IpMasq),
        };
        return new ObservedHost(links, addresses, routes, neighbors, fdb,
            new IptablesState(new Dictionary<string, IptablesTable> { ["filter"] = filter, ["nat"] = nat }), true, files, ovs);
    }
}
