using System.Globalization;
using OverlayCtl.Core.Diagnostics;

namespace OverlayCtl.Core.Backends.Vxlan;

/// <summary>doctor's <c>vxlan-port</c> check, for every backend whose tunnels are VXLAN (vxlan, ovs).</summary>
public static class VxlanPortCheck
{
    public static DoctorCheck Check { get; } = new("vxlan-port", "INPUT does not drop the VXLAN UDP port");

    public static IEnumerable<Finding> Run(DoctorContext context, int udpPort)
    {
        var port = udpPort.ToString(CultureInfo.InvariantCulture);
        var filter = context.Input.Observed.Iptables.Table("filter");
        foreach (var rule in filter.RulesOf("INPUT"))
        {
            var dropsUdp = rule.Contains("-p udp", StringComparison.Ordinal) && (rule.EndsWith("-j DROP", StringComparison.Ordinal) || rule.Contains("-j REJECT", StringComparison.Ordinal));
            var ours = !rule.Contains("--dport", StringComparison.Ordinal) || rule.Contains($"--dport {port}", StringComparison.Ordinal);
            if (dropsUdp && ours && !rule.Contains("! ", StringComparison.Ordinal))
            {
                yield return context.Finding(Check.Name, Severity.Error, $"'{rule}' drops VXLAN (UDP {port}) arriving from peers", $"iptables -I INPUT -p udp --dport {port} -j ACCEPT (or open UDP {port} in firewalld: firewall-cmd --add-port={port}/udp)");
                yield break;
            }
        }
        if (filter.Chains.GetValueOrDefault("INPUT") is "DROP" && !filter.RulesOf("INPUT").Any(r => r.Contains($"--dport {port}", StringComparison.Ordinal) && r.EndsWith("-j ACCEPT", StringComparison.Ordinal)))
            yield return context.Finding(Check.Name, Severity.Error, $"INPUT policy is DROP with no rule accepting UDP {port}: peers' VXLAN packets are dropped", $"iptables -I INPUT -p udp --dport {port} -j ACCEPT");
    }
}
