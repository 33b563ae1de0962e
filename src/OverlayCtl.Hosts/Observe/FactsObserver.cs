using System.Globalization;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Hosts.Observe;

/// <summary>Reads what doctor needs beyond the planner's state: rp_filter and the overlay device's checksum offload.</summary>
public static class FactsObserver
{
    public static async Task<HostFacts> ObserveAsync(IHostRunner runner, string? underlay, string? overlayDevice, CancellationToken cancellationToken)
    {
        var scopes = new[] { "all", underlay, overlayDevice }.OfType<string>().Distinct().ToList();
        // sysctl spells a dot inside an interface name as '/'.
        var keys = scopes.Select(s => $"net.ipv4.conf.{s.Replace('.', '/')}.rp_filter").ToList();
        var sysctl = await runner.RunAsync(new CommandSpec("sysctl", ["-e", .. keys]), cancellationToken).ConfigureAwait(false);
        var rp = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in sysctl.StandardOutput.Split('\n'))
        {
            var parts = line.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value)) continue;
            var index = keys.IndexOf(parts[0]);
            if (index >= 0) rp[scopes[index]] = value;
        }
        bool? offload = null;
        if (overlayDevice is not null)
        {
            var ethtool = await runner.RunAsync(CommandSpec.Of("ethtool", "-k", overlayDevice), cancellationToken).ConfigureAwait(false);
            var line = ethtool.StandardOutput.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith("tx-checksum-ip-generic:", StringComparison.Ordinal));
            if (ethtool.Succeeded && line is not null) offload = line.Contains(": on", StringComparison.Ordinal);
        }
        return new HostFacts(rp, offload);
    }
}
