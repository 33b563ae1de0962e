using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Backends.Vxlan;

/// <summary>
/// The VXLAN keys of <c>network:</c>: the VNI and UDP port (flannel's, shared with the ovs backend, whose
/// tunnels are VXLAN too) and directRouting (vxlan only).
/// </summary>
public sealed record VxlanSettings(int Vni, int Port, bool DirectRouting) : BackendSettings
{
    public const int DefaultVni = 1;

    /// <summary>flannel's VXLAN port (not IANA's 4789), so flannel nodes on the same network interoperate.</summary>
    public const int DefaultPort = 8472;

    internal static VxlanSettings Read(BackendSpecContext context)
    {
        var network = context.Network;
        var vni = network.Int("vni", 0, 16_777_215, DefaultVni);
        var port = network.Int("port", 1, 65_535, DefaultPort);
        var directRouting = network.Bool("directRouting", false);
        if (directRouting && !context.Selected)
            network.Error("directRouting", "directRouting applies to the vxlan backend only", "remove directRouting, or use backend: vxlan");
        return new VxlanSettings(vni, port, directRouting);
    }
}
