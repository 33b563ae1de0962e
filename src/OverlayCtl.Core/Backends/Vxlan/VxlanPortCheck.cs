using OverlayCtl.Core.Diagnostics;

namespace OverlayCtl.Core.Backends.Vxlan;

/// <summary>doctor's <c>vxlan-port</c> check, for every backend whose tunnels are VXLAN (vxlan, ovs).</summary>
public static class VxlanPortCheck
{
    public static DoctorCheck Check { get; } = new("vxlan-port", "INPUT does not drop the VXLAN UDP port");

    public static IEnumerable<Finding> Run(DoctorContext context, int udpPort) => UdpPortCheck.Run(context, Check.Name, "VXLAN", udpPort);
}
