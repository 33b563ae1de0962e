using System.Net;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Engine.Tests.Support;
using Serilog;

namespace OverlayCtl.Engine.Tests;

/// <summary>plan's lease prediction on a dual-stack spec: both families, around every taken range, and IPv6 given back on the way to IPv4 only.</summary>
public sealed class DualStackPredictionTests
{
    private static readonly ILogger Silent = new LoggerConfiguration().CreateLogger();

    private static ClusterSpec Spec(bool dual) => SpecLoader.Parse($"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: lab
        network:
          cidr: 10.244.0.0/16
        {(dual ? "  ipv6: { cidr: \"fd00:10:244::/48\" }" : "")}
        hosts:
          - name: n1
            address: 198.18.150.11
            address6: "fd00:198:18:150::11"
          - name: n2
            address: 198.18.150.12
            address6: "fd00:198:18:150::12"
        """, "c.yaml");

    private static readonly Lease Flannel = new(Ipv4Cidr.Parse("10.244.1.0/24"), Ipv4Address.Parse("198.18.150.50"), "vxlan", 1, null,
        Subnet6: Ipv6.Parse("fd00:10:244:1::/64"), PublicIpv6: IPAddress.Parse("fd00:198:18:150::50"));

    private static LeaseSnapshot Snapshot(params Lease[] leases) =>
        new(null, null, leases, [new UnreadableLease("/p/subnets/fd00:10:244:2::-64", null, "an IPv6-only lease") { Subnet6 = Ipv6.Parse("fd00:10:244:2::/64") }], 1);

    [Fact]
    public void AHeldIPv4LeaseGainsTheFirstFreeIPv6SubnetAndANewHostGetsBoth()
    {
        var spec = Spec(dual: true);
        var n1 = new Lease(Ipv4Cidr.Parse("10.244.5.0/24"), spec.Hosts[0].Address, "vxlan", 1, null);
        var predicted = new LeaseCoordinator(spec, new InMemoryLeaseStore(), Silent).Predict(Snapshot(Flannel, n1));
        Assert.Equal(
            ["10.244.1.0/24 fd00:10:244:1::/64 fd00:198:18:150::50", "10.244.5.0/24 fd00:10:244:3::/64 fd00:198:18:150::11", "10.244.2.0/24 fd00:10:244:4::/64 fd00:198:18:150::12"],
            predicted.Select(l => $"{l.Subnet} {l.Subnet6} {l.PublicIpv6}"));
        Assert.NotNull(predicted[2].VtepMac6);
    }

    [Fact]
    public void OnTheWayToIPv4OnlyASpecHostsLeaseGivesItsIPv6BackAndAFlannelLeaseKeepsIt()
    {
        var spec = Spec(dual: false);
        var n1 = new Lease(Ipv4Cidr.Parse("10.244.5.0/24"), spec.Hosts[0].Address, "vxlan", 1, null, Subnet6: Ipv6.Parse("fd00:10:244:3::/64"), PublicIpv6: IPAddress.Parse("fd00:198:18:150::11"));
        var predicted = new LeaseCoordinator(spec, new InMemoryLeaseStore(), Silent).Predict(Snapshot(Flannel, n1));
        Assert.Equal(["fd00:10:244:1::/64", "", ""], predicted.Select(l => l.Subnet6?.ToString() ?? ""));
        Assert.Null(predicted[1].PublicIpv6);
    }
}
