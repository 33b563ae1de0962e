using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Tests.Spec;

public sealed class DualStackSpecTests
{
    /// <summary>Line 7 is the first line of <paramref name="ipv6"/> (under network:), line 9 the first host's first line.</summary>
    private static string Spec(string ipv6 = "  ipv6: { cidr: \"fd00:10:244::/48\" }", string backend = "vxlan", string hosts = "  - name: a\n    address: 198.18.150.1\n    address6: fd00:198:18:150::1\n  - name: b\n    address: 198.18.150.2\n    address6: fd00:198:18:150::2") => $"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: lab
        network:
          cidr: 10.244.0.0/16
          backend: {backend}
        {ipv6}
        hosts:
        {hosts}
        """;

    private static IReadOnlyList<string> Errors(string text) =>
        Assert.Throws<SpecException>(() => SpecLoader.Parse(text, "c.yaml")).Errors.Select(e => e.ToString()).ToList();

    [Fact]
    public void IPv6TakesFlannelsDefaults()
    {
        var spec = SpecLoader.Parse(Spec(), "c.yaml");
        var v6 = spec.Network.Ipv6!;
        Assert.Equal("fd00:10:244::/48", v6.Cidr.ToString());
        Assert.Equal(64, v6.SubnetLength);
        Assert.Equal("fd00:10:244:1::", v6.SubnetMin.ToString());
        Assert.Equal("fd00:10:244:ffff::", v6.SubnetMax.ToString());
        Assert.Equal("fd00:198:18:150::2", spec.Hosts[1].Address6?.ToString());
        var config = BackendRegistry.ConfigOf(spec);
        Assert.Equal(new Ipv6NetworkConfig(v6.Cidr, 64, v6.SubnetMin, v6.SubnetMax), config.Ipv6);
    }

    [Fact]
    public void ASmallIPv6NetworkIsCutTwoBitsLongerAndPinsAreRead()
    {
        var spec = SpecLoader.Parse(Spec("  ipv6:\n    cidr: \"fd00:10:244:7::/120\"\n    subnetMin: \"fd00:10:244:7::80\"",
            hosts: "  - name: a\n    address: 198.18.150.1\n    address6: fd00:198:18:150::1\n    subnet6: \"fd00:10:244:7::c0/122\""), "c.yaml");
        Assert.Equal(122, spec.Network.Ipv6!.SubnetLength);
        Assert.Equal("fd00:10:244:7::80", spec.Network.Ipv6.SubnetMin.ToString());
        Assert.Equal("fd00:10:244:7::c0", spec.Network.Ipv6.SubnetMax.ToString());
        Assert.Equal(Ipv6.Parse("fd00:10:244:7::c0/122"), spec.Hosts[0].Subnet6);
    }

    [Fact]
    public void AnIPv4OnlySpecHasNoIPv6AndItsConfigIsAsBefore()
    {
        var spec = SpecLoader.Parse(Spec(ipv6: "", hosts: "  - name: a\n    address: 198.18.150.1\n    address6: fd00:198:18:150::1"), "c.yaml");
        Assert.Null(spec.Network.Ipv6);
        Assert.Null(BackendRegistry.ConfigOf(spec).Ipv6);
        Assert.Null(BackendRegistry.RequestFor(spec, spec.Hosts[0]).PublicIpv6);
        Assert.DoesNotContain("IPv6", FlannelFormat.SerializeConfig(BackendRegistry.ConfigOf(spec)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("  ipv6: { cidr: \"fd00:10:244::1/48\" }", "c.yaml:7:17: 'fd00:10:244::1/48' has host bits set (fix: write fd00:10:244::/48)")]
    [InlineData("  ipv6: { cidr: 10.1.0.0/16 }", "c.yaml:7:17: '10.1.0.0/16' is not an IPv6 network (fix: write addr/n, e.g. fd00:10:244::/48)")]
    [InlineData("  ipv6: { cidr: \"fd00:10:244::/48\", subnetLength: 40 }", "c.yaml:7:51: network.ipv6.subnetLength 40 does not fit the network fd00:10:244::/48 (fix: use a length from 49 to 126)")]
    [InlineData("  ipv6: { cidr: \"fd00:10:244::/48\", subnetMin: \"fd00:10:244:1::1\" }", "c.yaml:7:48: network.ipv6.subnetMin fd00:10:244:1::1 is not aligned to /64 (fix: use fd00:10:244:1::)")]
    [InlineData("  ipv6: { cidr: \"fd00:10:244::/48\", subnetMax: \"fd00:10:245::\" }", "c.yaml:7:48: network.ipv6.subnetMax fd00:10:245:: is outside the network fd00:10:244::/48 (fix: use an address inside fd00:10:244::/48)")]
    [InlineData("  ipv6: { cidr: \"fd00:10:244::/48\", subnetLen: 64 }", "c.yaml:7:37: unknown key 'subnetLen' in network.ipv6 (fix: did you mean 'subnetLength'?)")]
    public void IPv6NetworkErrorsAreLocatedWithTheFix(string ipv6, string expected) =>
        Assert.Equal(expected, Assert.Single(Errors(Spec(ipv6))));

    [Theory]
    [InlineData("ovs")]
    [InlineData("wireguard")]
    public void IPv6WithABackendThatCarriesOnlyIPv4IsRefusedWhereItIsAsked(string backend) =>
        Assert.Equal($"c.yaml:7:3: network.ipv6 is set, but backend {backend} carries IPv4 only (fix: use backend vxlan or host-gw for a dual-stack overlay, or remove network.ipv6)",
            Assert.Single(Errors(Spec(backend: backend))));

    [Theory]
    [InlineData("  - name: a\n    address: 198.18.150.1", "c.yaml:9:5: host a has no address6, but network.ipv6 makes the overlay dual-stack (fix: add address6: the host's IPv6 underlay address (the IPv6 VXLAN and routes run over it))")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: 198.18.150.9", "c.yaml:11:15: address6 '198.18.150.9' of host a is not an IPv6 address (fix: write the host's IPv6 underlay address, e.g. fd00:198:18:150::11)")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: \"fd00:10:244:3::3\"", "c.yaml:11:15: address6 fd00:10:244:3::3 of host a lies inside the IPv6 overlay fd00:10:244::/48 (fix: use the host's IPv6 underlay address, outside network.ipv6.cidr)")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: fd00::1\n  - name: b\n    address: 198.18.150.2\n    address6: fd00::1", "c.yaml:14:15: address6 fd00::1 is used by hosts a and b (fix: give every host its own IPv6 underlay address)")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: fd00::1\n    subnet6: \"fd00:10:244:5::/56\"", "c.yaml:12:14: subnet6 'fd00:10:244:5::/56' of host a is not an aligned IPv6 network (fix: write fd00:10:244::/56)")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: fd00::1\n    subnet6: \"fd00:10:244::/64\"", "c.yaml:12:14: subnet6 fd00:10:244::/64 of host a is outside the IPv6 lease range fd00:10:244:1::-fd00:10:244:ffff:: (fix: pick a subnet inside [network.ipv6.subnetMin, subnetMax], or widen the range)")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: fd00::1\n    subnet6: \"fd00:10:244:5::/80\"", "c.yaml:12:14: subnet6 fd00:10:244:5::/80 of host a is a /80, but IPv6 host subnets are /64 (fix: use a /64)")]
    [InlineData("  - name: a\n    address: 198.18.150.1\n    address6: fd00::1\n    subnet6: \"fd00:10:244:5::/64\"\n  - name: b\n    address: 198.18.150.2\n    address6: fd00::2\n    subnet6: \"fd00:10:244:5::/64\"", "c.yaml:16:14: subnet6 fd00:10:244:5::/64 of host b overlaps fd00:10:244:5::/64 of host a (line 12) (fix: give each host its own subnet6)")]
    public void HostIPv6ErrorsAreLocatedWithTheFix(string hosts, string expected) =>
        Assert.Contains(expected, Errors(Spec(hosts: hosts)));

    [Fact]
    public void ASubnet6PinWithoutNetworkIPv6IsRefused() =>
        Assert.Equal("c.yaml:12:5: host a pins subnet6, but the network has no network.ipv6 (fix: add network.ipv6, or remove subnet6)",
            Assert.Single(Errors(Spec(ipv6: "", hosts: "  - name: a\n    address: 198.18.150.1\n    address6: fd00::1\n    subnet6: \"fd00:10:244:5::/64\""))));

    [Fact]
    public void AVxlanHostAsksForBothFamiliesWithItsIPv6DevicesMac()
    {
        var spec = SpecLoader.Parse(Spec(), "c.yaml");
        var request = BackendRegistry.RequestFor(spec, spec.Hosts[0]);
        Assert.Equal("fd00:198:18:150::1", request.PublicIpv6?.ToString());
        Assert.Equal(MacAddress.ForVtep6(spec.Network.Ipv6!.Cidr, spec.Hosts[0].Address6!), request.VtepMac6);
        Assert.NotEqual(request.VtepMac, request.VtepMac6);
        var hostGw = SpecLoader.Parse(Spec(backend: "host-gw"), "c.yaml");
        Assert.Null(BackendRegistry.RequestFor(hostGw, hostGw.Hosts[0]).VtepMac6);
    }
}
