using System.Globalization;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Hosts.Observe;

/// <summary>Reads what doctor needs beyond the planner's state: rp_filter of the underlay and overlay devices.</summary>
public static class FactsObserver
{
    /// <summary>The facts for one host as doctor and verify check it: its underlay (the spec's interface, else the one holding its address) and the backend's device when it exists.</summary>
    public static Task<HostFacts> ObserveAsync(IHostRunner runner, PlanInput input, CancellationToken cancellationToken)
    {
        var underlay = input.Host.Interface ?? input.Observed.Addresses.FirstOrDefault(a => a.Address.Address == input.Host.Address)?.Device;
        var device = input.Spec.Network.Backend.Device(input.Spec) is { } d && input.Observed.FindLink(d) is not null ? d : null;
        return ObserveAsync(runner, underlay, device, cancellationToken);
    }

    private static async Task<HostFacts> ObserveAsync(IHostRunner runner, string? underlay, string? overlayDevice, CancellationToken cancellationToken)
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
        return new HostFacts(rp) { Now = DateTimeOffset.UtcNow };
    }
}
