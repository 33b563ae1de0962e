using System.Globalization;

namespace OverlayCtl.Core.Diagnostics;

/// <summary>
/// Whether INPUT drops a UDP port a tunnel receives on (VXLAN's, WireGuard's listen port): a DROP or REJECT rule
/// for UDP that names the port or no port, or a DROP policy with no rule accepting it. Shared by the checks that
/// name the port their backend uses (vxlan-port, wireguard-port).
/// </summary>
public static class UdpPortCheck
{
    public static IEnumerable<Finding> Run(DoctorContext context, string check, string traffic, int udpPort)
    {
        var port = udpPort.ToString(CultureInfo.InvariantCulture);
        var filter = context.Input.Observed.Iptables.Table("filter");
        foreach (var rule in filter.RulesOf("INPUT"))
        {
            var dropsUdp = rule.Contains("-p udp", StringComparison.Ordinal) && (rule.EndsWith("-j DROP", StringComparison.Ordinal) || rule.Contains("-j REJECT", StringComparison.Ordinal));
            var ours = !rule.Contains("--dport", StringComparison.Ordinal) || rule.Contains($"--dport {port}", StringComparison.Ordinal);
            if (dropsUdp && ours && !rule.Contains("! ", StringComparison.Ordinal))
            {
                yield return context.Finding(check, Severity.Error, $"'{rule}' drops {traffic} (UDP {port}) arriving from peers", $"iptables -I INPUT -p udp --dport {port} -j ACCEPT (or open UDP {port} in firewalld: firewall-cmd --add-port={port}/udp)");
                yield break;
            }
        }
        if (filter.Chains.GetValueOrDefault("INPUT") is "DROP" && !filter.RulesOf("INPUT").Any(r => r.Contains($"--dport {port}", StringComparison.Ordinal) && r.EndsWith("-j ACCEPT", StringComparison.Ordinal)))
            yield return context.Finding(check, Severity.Error, $"INPUT policy is DROP with no rule accepting UDP {port}: peers' {traffic} packets are dropped", $"iptables -I INPUT -p udp --dport {port} -j ACCEPT");
    }
}
