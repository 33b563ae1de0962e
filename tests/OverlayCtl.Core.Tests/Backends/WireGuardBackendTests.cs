using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.State;
using OverlayCtl.Core.Leases;

namespace OverlayCtl.Core.Tests.Backends;

/// <summary>The wireguard backend's section (network.wireguard), its lease data, and what wireguard-show prints.</summary>
public sealed class WireGuardBackendTests
{
    private const string Key = "GHLwzPUBPV5Hz4QzuJ6oFLIO7xSmUyjO8ILaVvXkUTU=";

    [Fact]
    public void WithoutAWireGuardSectionFlannelsDefaultsHold()
    {
        var spec = SpecText.Load("  backend: wireguard");
        Assert.Equal(new WireGuardSettings(51820, 0, WireGuardImplementation.Auto, null), WireGuardBackend.SettingsOf(spec));
        Assert.Equal("/etc/overlayctl/wireguard/lab.key", WireGuardBackend.SettingsOf(spec).KeyFileFor(spec, spec.Hosts[0]));
        Assert.Equal("flannel-wg", spec.Network.Backend.Device(spec));
        Assert.Equal(1420, spec.Network.OverlayMtu(1500));
    }

    [Fact]
    public void TheSectionIsReadWhateverTheBackendAndTheKeyFileMayNameTheHost()
    {
        var spec = SpecText.Load("  backend: vxlan\n  wireguard: { listenPort: 51821, persistentKeepalive: 25, implementation: userspace, keyFile: \"/var/lib/wg/{host}.key\" }");
        var settings = WireGuardBackend.SettingsOf(spec);
        Assert.Equal(new WireGuardSettings(51821, 25, WireGuardImplementation.Userspace, "/var/lib/wg/{host}.key"), settings);
        Assert.Equal("/var/lib/wg/a.key", settings.KeyFileFor(spec, spec.Hosts[0]));
    }

    [Theory]
    [InlineData("  wireguard: { listenPort: 0 }", "c.yaml:6:28: listenPort 0 is out of range (fix: use a value from 1 to 65535)")]
    [InlineData("  wireguard: { implementation: boringtun }", "c.yaml:6:32: implementation 'boringtun' is not known (fix: use auto (the kernel's WireGuard, else wireguard-go), kernel or userspace (wireguard-go))")]
    [InlineData("  wireguard: { keyFile: wg.key }", "c.yaml:6:25: keyFile 'wg.key' is not an absolute path of letters, digits, '.', '_', '-' and '/' (fix: write an absolute path on persistent storage (it may contain {host}), e.g. /etc/overlayctl/wireguard/{host}.key)")]
    [InlineData("  wireguard: { keyFile: \"/etc/wg/a key\" }", "c.yaml:6:25: keyFile '/etc/wg/a key' is not an absolute path of letters, digits, '.', '_', '-' and '/' (fix: write an absolute path on persistent storage (it may contain {host}), e.g. /etc/overlayctl/wireguard/{host}.key)")]
    [InlineData("  wireguard: { keyFile: /etc/../wg.key }", "c.yaml:6:25: keyFile '/etc/../wg.key' is not an absolute path of letters, digits, '.', '_', '-' and '/' (fix: write an absolute path on persistent storage (it may contain {host}), e.g. /etc/overlayctl/wireguard/{host}.key)")]
    [InlineData("  wireguard: { listenport: 1 }", "c.yaml:6:16: unknown key 'listenport' in network.wireguard (fix: did you mean 'listenPort'?)")]
    public void ABadWireGuardKeyIsLocatedWithTheFix(string network, string expected) =>
        Assert.StartsWith(expected, Assert.Single(SpecText.Errors(network)), StringComparison.Ordinal);

    [Fact]
    public void TheLeaseCarriesThePublicKeyReadFromTheHostAndThePort()
    {
        var spec = SpecText.Load("  backend: wireguard\n  wireguard: { listenPort: 51821, persistentKeepalive: 25 }");
        var host = spec.Hosts[0];
        var observed = ObservedHost.Empty with { PublicKeys = new Dictionary<string, string?> { ["/etc/overlayctl/wireguard/lab.key"] = Key } };
        Assert.Equal(new LeaseData(null, null, Key, 51821), spec.Network.Backend.LeaseData(spec, host, observed));
        // Not read yet (plan of a host without a key): the key is unknown, never made up.
        Assert.Equal(new LeaseData(null, null, null, 51821), spec.Network.Backend.LeaseData(spec, host, null));
        Assert.Equal(new HostRead.WireGuardPublicKey("/etc/overlayctl/wireguard/lab.key"), Assert.Single(spec.Network.Backend.LeaseReads(spec, host)));
        // flannel nodes listen on, and dial every peer at, the config's ListenPort: it must be the spec's.
        Assert.Equal(new ConfigData(null, null, 51821, 25), spec.Network.Backend.ConfigData(spec));
        Assert.Equal(
            """{"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0","SubnetMax":"10.244.255.0","Backend":{"Type":"wireguard","ListenPort":51821,"PersistentKeepaliveInterval":25}}""",
            FlannelFormat.SerializeConfig(BackendRegistry.ConfigOf(spec)));
        Assert.Equal("wireguard", BackendRegistry.RequestFor(spec, host, observed).BackendType);
        Assert.Equal(Key, BackendRegistry.RequestFor(spec, host, observed).PublicKey);
    }

    [Fact]
    public void WireGuardShowIsReadWithoutAnySecret()
    {
        var device = WireGuardPrograms.ParseShow($"""
            {Key} 51820
            xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= 198.18.120.12:51820 10.244.2.0/24 1764430000 off
            TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0= (none) 10.244.3.0/24,10.244.4.0/24 0 25

            """);
        Assert.NotNull(device);
        Assert.Equal(Key, device.PublicKey);
        Assert.Equal(51820, device.ListenPort);
        Assert.Equal(2, device.Peers.Count);
        Assert.Equal(("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "198.18.120.12:51820", DateTimeOffset.FromUnixTimeSeconds(1764430000), 0),
            (device.Peers[0].PublicKey, device.Peers[0].Endpoint, device.Peers[0].LatestHandshake, device.Peers[0].PersistentKeepalive));
        Assert.Equal(["10.244.2.0/24"], device.Peers[0].AllowedIps);
        Assert.Null(device.Peers[1].Endpoint);
        Assert.Null(device.Peers[1].LatestHandshake);
        Assert.Equal(["10.244.3.0/24", "10.244.4.0/24"], device.Peers[1].AllowedIps);
        Assert.Equal(25, device.Peers[1].PersistentKeepalive);
        Assert.Null(WireGuardPrograms.ParseShow(""));
        Assert.Null(WireGuardPrograms.ParseShow("(none) 0")!.PublicKey);
    }

    [Theory]
    [InlineData(Key, true)]
    [InlineData("GHLwzPUBPV5Hz4QzuJ6oFLIO7xSmUyjO8ILaVvXkUTV=", false)]
    [InlineData("GHLwzPUBPV5Hz4QzuJ6oFLIO7xSmUyjO8ILaVvXkUT=", false)]
    [InlineData("GHLwzPUBPV5Hz4QzuJ6oFLIO7xSmUyjO8ILaVvXk;TU=", false)]
    [InlineData("(none)", false)]
    public void OnlyAWellFormedKeyIsAKey(string text, bool key) => Assert.Equal(key, WireGuardPrograms.IsKey(text));
}
