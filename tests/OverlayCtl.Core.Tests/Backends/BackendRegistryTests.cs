using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.HostGw;
using OverlayCtl.Core.Backends.Ovs;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Core.Tests.Backends;

/// <summary>The registry: one place that knows every backend, and what it hands out for the selected one.</summary>
public sealed class BackendRegistryTests
{
    [Fact]
    public void EveryBackendIsFoundByItsSpecSpellingAndWritesFlannelsBackendType()
    {
        Assert.Equal(["vxlan", "ovs", "host-gw", "wireguard"], BackendRegistry.All.Select(b => b.Name));
        Assert.IsType<VxlanBackend>(BackendRegistry.Find("vxlan"));
        Assert.IsType<OvsBackend>(BackendRegistry.Find("ovs"));
        Assert.IsType<HostGwBackend>(BackendRegistry.Find("host-gw"));
        Assert.Null(BackendRegistry.Find("geneve"));
        Assert.All(BackendRegistry.All, b => Assert.Equal(b.Name, b.LeaseType));
    }

    [Fact]
    public void ASpecWithoutABackendUsesVxlanAsFlannelDoes()
    {
        var spec = SpecLoader.Parse("""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: lab
            network: { cidr: 10.244.0.0/16 }
            hosts: [{ name: a, address: 192.0.2.1 }]
            """, "c.yaml");
        Assert.Same(BackendRegistry.Default, spec.Network.Backend);
        Assert.IsType<VxlanBackend>(spec.Network.Backend);
    }

    [Fact]
    public void TheChoicesAnErrorOffersAreTheRegisteredNames() =>
        Assert.Equal("vxlan, ovs, host-gw or wireguard", BackendRegistry.Choices);

    [Fact]
    public void EveryNetworkKeyIsReadByExactlyOneBackend()
    {
        var keys = BackendRegistry.All.SelectMany(b => b.NetworkKeys).ToList();
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["vni", "port", "directRouting", "vxlan", "ovs", "wireguard"], keys);
    }

    [Fact]
    public void TheOverlayMtuIsTheUnderlaysMinusTheSelectedBackendsOverheadUnlessTheSpecSetsOne()
    {
        Assert.Equal(1450, Lab.Spec("vxlan").Network.OverlayMtu(1500));
        Assert.Equal(1450, Lab.Spec("ovs").Network.OverlayMtu(1500));
        Assert.Equal(1500, Lab.Spec("host-gw").Network.OverlayMtu(1500));
        Assert.Equal(1420, Lab.Spec("wireguard").Network.OverlayMtu(1500));
        Assert.Equal(1400, Lab.Spec("vxlan", extra: "  mtu: 1400").Network.OverlayMtu(1500));
    }

    [Theory]
    [InlineData("vxlan", "vxlan", 1, "02:")]
    [InlineData("ovs", "ovs", 1, null)]
    [InlineData("host-gw", "host-gw", null, null)]
    public void ALeaseRequestCarriesTheSelectedBackendsTypeAndData(string backend, string type, int? vni, string? macPrefix)
    {
        var spec = Lab.Spec(backend);
        var request = BackendRegistry.RequestFor(spec, spec.Hosts[1]);
        Assert.Equal((Ipv4Address.Parse("192.0.2.12"), "node2", type, vni), (request.PublicIp, request.HostName, request.BackendType, request.Vni));
        if (macPrefix is null) Assert.Null(request.VtepMac);
        else Assert.Equal(MacAddress.ForVtep(spec.Network.Cidr, request.PublicIp), request.VtepMac);
    }

    [Fact]
    public void TheNetworkConfigCarriesVniAndPortForVxlanTunnelsOnly()
    {
        var vxlan = BackendRegistry.ConfigOf(Lab.Spec("vxlan", extra: "  vni: 7\n  port: 4789"));
        Assert.Equal(("vxlan", 7, 4789), (vxlan.BackendType, vxlan.Vni, vxlan.Port));
        var ovs = BackendRegistry.ConfigOf(Lab.Spec("ovs"));
        Assert.Equal(("ovs", 1, 8472), (ovs.BackendType, ovs.Vni, ovs.Port));
        var hostGw = BackendRegistry.ConfigOf(Lab.Spec("host-gw"));
        Assert.Equal(("host-gw", null, null), (hostGw.BackendType, hostGw.Vni, hostGw.Port));
        Assert.Equal(Ipv4Cidr.Parse("10.244.0.0/16"), hostGw.Network);
    }

    [Fact]
    public void OpenVSwitchIsReadAlwaysForOvsAndOnlyWhereItsBridgeIsLeftOtherwise()
    {
        var ovs = Lab.Spec("ovs", extra: "  ovs: { db: \"unix:/run/ovs/{host}/db.sock\" }");
        var leftByWireGuard = new HostRead.File("/run/overlayctl/wireguard-lab-node1.pid", "flannel-wg");
        Assert.Equal([new HostRead.OpenVSwitch("unix:/run/ovs/node1/db.sock", null), leftByWireGuard, LeftByDualStack], BackendRegistry.ReadsFor(ovs, ovs.Hosts[0]));
        var vxlan = Lab.Spec("vxlan");
        Assert.Equal([new HostRead.OpenVSwitch(null, "br-overlay"), leftByWireGuard, LeftByDualStack], BackendRegistry.ReadsFor(vxlan, vxlan.Hosts[0]));
    }

    /// <summary>An IPv4-only spec reads a host's IPv6 tables only where its files or a flannel-v6 device say a dual-stack apply was there.</summary>
    private static readonly HostRead LeftByDualStack = new HostRead.Ipv6(new Ipv6Traces("/run/lab/node1/subnet.env", "/run/lab/node1/daemon.json"));

    [Fact]
    public void WireGuardReadsTheKeysPublicHalfItsDeviceAndOnlyWhereTheDeviceIsLeftItsPidFile()
    {
        var spec = Lab.Spec("wireguard");
        Assert.Equal([
            new HostRead.OpenVSwitch(null, "br-overlay"),
            new HostRead.WireGuardPublicKey("/etc/overlayctl/wireguard/lab.key"),
            new HostRead.WireGuard("flannel-wg"),
            new HostRead.File("/run/overlayctl/wireguard-lab-node1.pid", "flannel-wg"),
            LeftByDualStack,
        ], BackendRegistry.ReadsFor(spec, spec.Hosts[0]));
        Assert.True(BackendRegistry.LeaseNeedsHost(spec, spec.Hosts[0]));
        Assert.False(BackendRegistry.LeaseNeedsHost(Lab.Spec("vxlan"), spec.Hosts[0]));
        var config = BackendRegistry.ConfigOf(spec);
        Assert.Equal(("wireguard", null, null), (config.BackendType, config.Vni, config.Port));
    }

    [Fact]
    public void EverySampleLoadsWithTheSettingsItSpells()
    {
        var samples = Path.Combine(Golden.RepoRoot(), "samples");
        var lab = SpecLoader.Load(Path.Combine(samples, "lab.yaml"));
        Assert.Equal(("vxlan", new VxlanSettings(1, 8472, false)), (lab.Network.Backend.Name, VxlanBackend.SettingsOf(lab)));
        var ovs = SpecLoader.Load(Path.Combine(samples, "ovs-lab.yaml"));
        Assert.Equal(("ovs", new OvsSettings("br-overlay", "unix:/run/overlayctl/ovs-lab/{host}/db.sock", "netdev")), (ovs.Network.Backend.Name, OvsBackend.SettingsOf(ovs)));
        var ssh = SpecLoader.Load(Path.Combine(samples, "ssh.yaml"));
        Assert.True(VxlanBackend.SettingsOf(ssh).DirectRouting);
        var hostGw = SpecLoader.Load(Path.Combine(samples, "host-gw.yaml"));
        Assert.Equal(("host-gw", OvsSettings.Default), (hostGw.Network.Backend.Name, OvsBackend.SettingsOf(hostGw)));
        var wireGuard = SpecLoader.Load(Path.Combine(samples, "wireguard-lab.yaml"));
        Assert.Equal(("wireguard", new WireGuardSettings(51820, 0, WireGuardImplementation.Auto, "/run/overlayctl/lab/wglab/{host}.key")),
            (wireGuard.Network.Backend.Name, WireGuardBackend.SettingsOf(wireGuard)));
    }
}
