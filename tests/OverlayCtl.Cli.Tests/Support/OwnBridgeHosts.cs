using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests.Support;

/// <summary>
/// A lab's namespace hosts on a root bridge the test names, as <c>lab up</c> lays them out (a veth per host, its
/// underlay address on eth0 as a /24, its address6 as a /64, ARP off on the bridge), for tests that must keep to
/// bridge names of their own; <c>lab up</c> names its bridge after the spec. <see cref="Down"/> removes the bridge
/// and the veths; the namespaces go with the <see cref="LabCluster"/>'s dispose (<c>lab down</c>).
/// </summary>
internal static class OwnBridgeHosts
{
    public static void Up(LabCluster lab, string bridge)
    {
        Sh.Must("ip", "link", "add", bridge, "type", "bridge");
        Sh.Must("ip", "link", "set", bridge, "arp", "off", "up");
        foreach (var host in lab.HostNames)
        {
            var ns = lab.Netns(host);
            Sh.Must("ip", "netns", "add", ns);
            Sh.Must("ip", "-n", ns, "link", "set", "lo", "up");
            Sh.Must("ip", "link", "add", RootEnd(bridge, host), "type", "veth", "peer", "name", "eth0", "netns", ns);
            Sh.Must("ip", "link", "set", RootEnd(bridge, host), "master", bridge, "up");
            Sh.Must("ip", "-n", ns, "link", "set", "eth0", "up");
            Sh.Must("ip", "-n", ns, "addr", "add", lab.Address(host) + "/24", "dev", "eth0");
            if (lab.Address6(host) is { } address6) Sh.Must("ip", "-n", ns, "addr", "add", address6 + "/64", "dev", "eth0", "nodad");
        }
    }

    /// <summary>Removes the bridge and any veth left on it; safe to call whatever <see cref="Up"/> got to.</summary>
    public static void Down(LabCluster lab, string bridge)
    {
        foreach (var host in lab.HostNames) Sh.Run("ip", "link", "del", RootEnd(bridge, host));
        Sh.Run("ip", "link", "del", bridge);
    }

    private static string RootEnd(string bridge, string host) => bridge[..^2] + host;
}
