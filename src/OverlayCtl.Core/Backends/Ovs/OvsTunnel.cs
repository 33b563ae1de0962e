using System.Globalization;
using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Backends.Ovs;

/// <summary>
/// The tunnel port a peer needs: <c>type=vxlan</c> to its address with the spec's VNI (<c>key</c>) and UDP
/// port (<c>dst_port</c>), <c>protected</c>. One definition of "this port is right", used by the plan (which
/// resets a port that is not) and by doctor (which names what is wrong), so the two cannot disagree.
/// </summary>
public sealed record OvsTunnel(string Name, string RemoteIp, string Key, string DstPort)
{
    public static OvsTunnel For(Ipv4Address peer, VxlanSettings vxlan) => new(
        OvsBackend.TunnelName(peer), peer.ToString(),
        vxlan.Vni.ToString(CultureInfo.InvariantCulture), vxlan.Port.ToString(CultureInfo.InvariantCulture));

    /// <summary>What is wrong with the port observed on <paramref name="bridge"/>, one phrase each; empty when it is right.</summary>
    public IReadOnlyList<string> Problems(OvsPort? port, string bridge)
    {
        if (port is null) return [$"no tunnel port {Name} on {bridge}"];
        var problems = new List<string>();
        var options = port.Options;
        if (port.Type != "vxlan" || options.GetValueOrDefault("remote_ip") != RemoteIp)
            problems.Add($"{Name} is {port.Type ?? "not a tunnel"} to {options.GetValueOrDefault("remote_ip") ?? "nowhere"}, not vxlan to {RemoteIp}");
        if (options.GetValueOrDefault("key") != Key)
            problems.Add($"{Name} has VNI (key) {options.GetValueOrDefault("key") ?? "unset"}, not network.vni {Key}: its packets reach no peer");
        if (options.GetValueOrDefault("dst_port") != DstPort)
            problems.Add($"{Name} sends to UDP port (dst_port) {options.GetValueOrDefault("dst_port") ?? "unset"}, not network.port {DstPort}: peers do not listen there");
        if (!port.Protected) problems.Add($"{Name} is not protected: broadcasts can loop through the mesh");
        return problems;
    }

    /// <summary>The ovs-vsctl commands (chained with <c>--</c>) that make the port right, whatever it was.</summary>
    public string[] Set(string bridge) =>
    [
        "--may-exist", "add-port", bridge, Name,
        "--", "set", "interface", Name, "type=vxlan", $"options:remote_ip={RemoteIp}", $"options:key={Key}", $"options:dst_port={DstPort}",
        "--", "set", "port", Name, "protected=true",
    ];
}
