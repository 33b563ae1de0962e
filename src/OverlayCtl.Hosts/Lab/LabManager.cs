using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;
using OverlayCtl.Hosts.Connections;

namespace OverlayCtl.Hosts.Lab;

/// <summary>What <c>lab up</c> or <c>lab down</c> did.</summary>
public sealed record LabResult(IReadOnlyList<string> Created, IReadOnlyList<string> Removed, IReadOnlyList<string> Unchanged);

/// <summary>
/// Builds the spec's <c>netns://</c> hosts on this machine: one namespace per host with the spec's
/// interface (a veth) on a shared underlay bridge in the root namespace. The bridge holds no address,
/// so labs never touch the machine's own routing. Idempotent both ways.
/// </summary>
public sealed class LabManager(ProcessRunner processes, int underlayPrefixLength = 24)
{
    private const string Root = "lab";

    /// <summary>The root-namespace bridge for a spec: short, and distinct per spec name.</summary>
    public static string BridgeName(ClusterSpec spec) => "ovl" + Hash(spec.Name)[..8] + "br";

    /// <summary>The root-namespace end of a host's veth.</summary>
    public static string RootVethName(ClusterSpec spec, HostSpec host) => "ovl" + Hash(spec.Name + "/" + host.Name)[..10];

    public async Task<LabResult> UpAsync(ClusterSpec spec, CancellationToken cancellationToken)
    {
        var created = new List<string>();
        var unchanged = new List<string>();
        var bridge = BridgeName(spec);
        if (!await LinkExistsAsync(null, bridge, cancellationToken).ConfigureAwait(false))
        {
            await MustAsync(cancellationToken, "ip", "link", "add", bridge, "type", "bridge").ConfigureAwait(false);
            created.Add($"bridge {bridge}");
        }
        // ARP off: the root namespace must never answer for lab addresses that happen to be its own.
        await MustAsync(cancellationToken, "ip", "link", "set", bridge, "arp", "off", "up").ConfigureAwait(false);
        foreach (var host in LabHosts(spec))
        {
            var ns = ((HostConnection.Netns)host.Connection).Name;
            var iface = host.Interface ?? "eth0";
            var rootEnd = RootVethName(spec, host);
            var fresh = false;
            if (!await NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false))
            {
                await MustAsync(cancellationToken, "ip", "netns", "add", ns).ConfigureAwait(false);
                created.Add($"netns {ns}");
                fresh = true;
            }
            await MustAsync(cancellationToken, "ip", "-n", ns, "link", "set", "lo", "up").ConfigureAwait(false);
            if (!await LinkExistsAsync(ns, iface, cancellationToken).ConfigureAwait(false))
            {
                if (await LinkExistsAsync(null, rootEnd, cancellationToken).ConfigureAwait(false))
                    await MustAsync(cancellationToken, "ip", "link", "del", rootEnd).ConfigureAwait(false);
                await MustAsync(cancellationToken, "ip", "link", "add", rootEnd, "type", "veth", "peer", "name", iface, "netns", ns).ConfigureAwait(false);
                created.Add($"veth {rootEnd} <-> {ns}/{iface}");
                fresh = true;
            }
            await MustAsync(cancellationToken, "ip", "link", "set", rootEnd, "master", bridge, "up").ConfigureAwait(false);
            var address = string.Create(CultureInfo.InvariantCulture, $"{host.Address}/{underlayPrefixLength}");
            await MustAsync(cancellationToken, "ip", "-n", ns, "addr", "replace", address, "dev", iface).ConfigureAwait(false);
            await MustAsync(cancellationToken, "ip", "-n", ns, "link", "set", iface, "up").ConfigureAwait(false);
            (fresh ? created : unchanged).Add($"host {host.Name}");
        }
        return new LabResult(created, [], unchanged);
    }

    public async Task<LabResult> DownAsync(ClusterSpec spec, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        foreach (var host in LabHosts(spec))
        {
            var ns = ((HostConnection.Netns)host.Connection).Name;
            if (await NamespaceExistsAsync(ns, cancellationToken).ConfigureAwait(false))
            {
                await MustAsync(cancellationToken, "ip", "netns", "del", ns).ConfigureAwait(false);
                removed.Add($"netns {ns}");
            }
            var rootEnd = RootVethName(spec, host);
            if (await LinkExistsAsync(null, rootEnd, cancellationToken).ConfigureAwait(false))
            {
                await MustAsync(cancellationToken, "ip", "link", "del", rootEnd).ConfigureAwait(false);
                removed.Add($"veth {rootEnd}");
            }
        }
        var bridge = BridgeName(spec);
        if (await LinkExistsAsync(null, bridge, cancellationToken).ConfigureAwait(false))
        {
            await MustAsync(cancellationToken, "ip", "link", "del", bridge).ConfigureAwait(false);
            removed.Add($"bridge {bridge}");
        }
        return new LabResult([], removed, []);
    }

    private static IEnumerable<HostSpec> LabHosts(ClusterSpec spec) => spec.Hosts.Where(h => h.Connection is HostConnection.Netns);

    private async Task<bool> NamespaceExistsAsync(string ns, CancellationToken cancellationToken)
    {
        var list = await processes.RunAsync(Root, CommandSpec.Of("ip", "netns", "list"), cancellationToken).ConfigureAwait(false);
        return list.StandardOutput.Split('\n').Any(l => l.Split(' ')[0] == ns);
    }

    private async Task<bool> LinkExistsAsync(string? ns, string name, CancellationToken cancellationToken)
    {
        var command = ns is null ? CommandSpec.Of("ip", "link", "show", "dev", name) : CommandSpec.Of("ip", "-n", ns, "link", "show", "dev", name);
        return (await processes.RunAsync(Root, command, cancellationToken).ConfigureAwait(false)).Succeeded;
    }

    private async Task MustAsync(CancellationToken cancellationToken, string program, params string[] args)
    {
        var command = new CommandSpec(program, args);
        var result = await processes.RunAsync(Root, command, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw new CommandFailedException(Root, command, result);
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
