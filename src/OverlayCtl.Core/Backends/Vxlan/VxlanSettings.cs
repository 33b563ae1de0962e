using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Backends.Vxlan;

/// <summary>
/// The VXLAN keys of <c>network:</c>: the VNI and UDP port (flannel's, shared with the ovs backend, whose
/// tunnels are VXLAN too), directRouting (vxlan only) and <c>vxlan.txChecksumOffload</c>: null leaves the
/// device's offload as the kernel sets it; true or false is enforced by apply and checked by doctor.
/// </summary>
public sealed record VxlanSettings(int Vni, int Port, bool DirectRouting, bool? TxChecksumOffload = null) : BackendSettings
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
        bool? offload = null;
        if (network.Mapping("vxlan", "network.vxlan", ["txChecksumOffload"]) is { } vxlan && vxlan.Has("txChecksumOffload"))
        {
            offload = vxlan.Bool("txChecksumOffload", true);
            if (!context.Selected)
                vxlan.Error("txChecksumOffload", "network.vxlan.txChecksumOffload applies to the vxlan backend only", "remove it, or use backend: vxlan");
        }
        return new VxlanSettings(vni, port, directRouting, offload);
    }
}
