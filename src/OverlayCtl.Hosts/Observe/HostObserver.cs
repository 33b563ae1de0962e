using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Observe.Netlink;

namespace OverlayCtl.Hosts.Observe;

/// <summary>
/// What to read besides the network state every host has: files, and what the backends ask for
/// (<see cref="BackendRegistry.ReadsFor"/>).
/// </summary>
/// <param name="Files">The files overlayctl owns there, read whole.</param>
/// <param name="Reads">What the backends ask for besides.</param>
/// <param name="Unchanged">
/// An earlier observation of the host whose rules, Open vSwitch state and offload settings are known to be
/// still true (an agent woken by etcd alone, nothing signalled by the host since, and nothing of these
/// changed by it): those are taken from it instead of read again (<c>iptables-save</c>, <c>ip6tables-save</c> when the
/// earlier one read IPv6, and the others).
/// </param>
public sealed record ObserveRequest(IReadOnlyList<string> Files, IReadOnlyList<HostRead>? Reads = null, ObservedHost? Unchanged = null);

/// <summary>
/// Reads a host's live state with a fixed handful of processes, run concurrently: the count does
/// not grow with the number of peers, routes or rules. Over ssh (<see cref="IRoundTripHost"/>) the reads every
/// observation makes are one process, one round trip (<see cref="CommandBatch"/>). On the host overlayctl runs on (an agent's,
/// <see cref="IHereHost"/>) only <c>iptables-save</c> remains (and <c>ip6tables-save</c> on a dual-stack host): the
/// kernel's tables of both families come over rtnetlink,
/// files, environment and sysctl are read directly.
/// </summary>
public static class HostObserver
{
    public static async Task<ObservedHost> ObserveAsync(IHostRunner runner, ObserveRequest request, CancellationToken cancellationToken)
    {
        // Over ssh every process is a round trip: the reads every observation makes go in one.
        if (runner is IRoundTripHost) runner = await PrefetchedHost.ReadAsync(runner, FixedReads(request), cancellationToken).ConfigureAwait(false);
        var here = runner as IHereHost;
        var wantsIpv6 = WantsIpv6(request);
        // bridge's fdb, read once for both the IPv4 and the IPv6 parsers; over rtnetlink it is one dump for both.
        var fdb = here is null ? runner.MustAsync(Kernel[4], cancellationToken) : null;
        var kernel = here is null ? KernelAsync(runner, fdb!, cancellationToken) : Task.FromResult(here.Kernel.Reader.Read(ipv6: wantsIpv6));
        var links = LinksAsync(kernel);
        var unchanged = request.Unchanged;
        var iptables = unchanged is null ? IptablesAsync(runner, cancellationToken) : Task.FromResult(unchanged.Iptables);
        var forward = here is null ? runner.MustAsync(Forwarding, cancellationToken) : Task.FromResult(here.Sysctl("net.ipv4.ip_forward"));
        var ssh = here is null ? SshClientAsync(runner, cancellationToken) : Task.FromResult(SshClient(here.Environment("SSH_CLIENT")));
        var offload = unchanged is null ? OffloadAsync(runner, request.Reads?.OfType<HostRead.TxChecksumOffload>().ToList() ?? [], links, cancellationToken) : Task.FromResult(unchanged.TxChecksumOffload);
        var ovs = unchanged is null ? OvsAsync(runner, request.Reads?.OfType<HostRead.OpenVSwitch>().ToList() ?? [], links, cancellationToken) : Task.FromResult(unchanged.Ovs);
        var reads = request.Reads ?? [];
        var backendFiles = BackendFilesAsync(runner, reads.OfType<HostRead.File>().ToList(), links, cancellationToken);
        var publicKeys = PublicKeysAsync(runner, reads.OfType<HostRead.WireGuardPublicKey>().ToList(), cancellationToken);
        var wireGuard = WireGuardAsync(runner, reads.OfType<HostRead.WireGuard>().ToList(), links, cancellationToken);
        // ip6tables' rules, like iptables', are taken from an earlier observation known to be still true.
        var ip6tables = !wantsIpv6 ? null
            : unchanged?.Ipv6 is { } earlier ? Task.FromResult(earlier.Ip6tables)
            : Ip6tablesAsync(runner, cancellationToken);
        // The IPv6 tables by processes, or on the agent's own host from an rtnetlink snapshot that read them.
        Task<Ipv6State?> Ipv6Of(Func<Task<RtnetlinkSnapshot>> snapshot, Task<IptablesState> tables) =>
            here is null ? Ipv6Async(runner, fdb!, tables, cancellationToken) : Ipv6HereAsync(here, snapshot(), tables);
        var ipv6 = wantsIpv6 ? Ipv6Of(() => kernel, ip6tables!) : Task.FromResult<Ipv6State?>(null);
        var files = request.Files.Distinct(StringComparer.Ordinal)
            .Select(async path => (path, content: await runner.ReadFileAsync(path, cancellationToken).ConfigureAwait(false)))
            .ToList();
        await Task.WhenAll(kernel, iptables, forward, ovs, ssh, offload, backendFiles, publicKeys, wireGuard, ipv6).ConfigureAwait(false);
        var fileContents = await Task.WhenAll(files).ConfigureAwait(false);
        var state = await kernel.ConfigureAwait(false);
        var observed = new ObservedHost(
            state.Links,
            state.Addresses,
            state.Routes,
            state.Neighbors,
            state.Fdb,
            await iptables.ConfigureAwait(false),
            (await forward.ConfigureAwait(false)).Trim() == "1",
            fileContents.Concat(await backendFiles.ConfigureAwait(false)).GroupBy(f => f.path, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().content, StringComparer.Ordinal),
            await ovs.ConfigureAwait(false))
        {
            SshClient = await ssh.ConfigureAwait(false),
            TxChecksumOffload = await offload.ConfigureAwait(false),
            PublicKeys = await publicKeys.ConfigureAwait(false),
            WireGuard = await wireGuard.ConfigureAwait(false),
            Ipv6 = await ipv6.ConfigureAwait(false),
        };
        // An IPv4-only spec reads the IPv6 tables only where an earlier dual-stack apply left its marks.
        return Ipv6Traces(request) is { } traces && traces.FoundIn(observed)
            ? observed with { Ipv6 = await Ipv6Of(() => Task.FromResult(here!.Kernel.Reader.Read(ipv6: true)), Ip6tablesAsync(runner, cancellationToken)).ConfigureAwait(false) }
            : observed;
    }

    private static readonly CommandSpec Forwarding = CommandSpec.Of("sysctl", "-n", "net.ipv4.ip_forward");
    private static readonly CommandSpec IptablesSave = CommandSpec.Of("iptables-save");
    private static readonly CommandSpec SshClientVariable = CommandSpec.Of("printenv", "SSH_CLIENT");
    private static readonly CommandSpec[] Kernel =
    [
        CommandSpec.Of("ip", "-j", "-d", "link", "show"),
        CommandSpec.Of("ip", "-j", "-4", "addr", "show"),
        CommandSpec.Of("ip", "-j", "-4", "route", "show", "table", "main"),
        CommandSpec.Of("ip", "-j", "-4", "neigh", "show"),
        CommandSpec.Of("bridge", "-j", "fdb", "show"),
    ];

    /// <summary>
    /// What every observation of a host without <see cref="IHereHost"/> reads, whatever it finds: the kernel's tables,
    /// the rules (unless known), forwarding, the ssh client and the asked files. What depends on the links read
    /// (offload, a device's files, WireGuard, OVS beside a device) is read after them.
    /// </summary>
    private static IReadOnlyList<CommandSpec> FixedReads(ObserveRequest request) =>
        [.. Kernel, .. request.Unchanged is null ? [IptablesSave] : Array.Empty<CommandSpec>(), Forwarding, SshClientVariable,
         .. WantsIpv6(request) ? Ipv6Reads : [], .. WantsIpv6(request) && request.Unchanged?.Ipv6 is null ? [Ip6tablesSave] : Array.Empty<CommandSpec>(),
         .. request.Files.Distinct(StringComparer.Ordinal).Select(HostFiles.ReadCommand)];

    /// <summary>Whether the IPv6 tables are read with everything else: a dual-stack spec.</summary>
    private static bool WantsIpv6(ObserveRequest request) => (request.Reads ?? []).OfType<HostRead.Ipv6>().Any(r => r.OnlyIf is null);

    /// <summary>For an IPv4-only spec, the marks that have its IPv6 tables read after all (<see cref="HostRead.Ipv6"/>).</summary>
    private static Ipv6Traces? Ipv6Traces(ObserveRequest request) =>
        WantsIpv6(request) ? null : (request.Reads ?? []).OfType<HostRead.Ipv6>().Select(r => r.OnlyIf).FirstOrDefault();

    /// <summary>The IPv6 tables' reads, in <see cref="Ipv6Async"/>'s order (<c>ip6tables-save</c> apart: it may be known unchanged).</summary>
    private static readonly CommandSpec[] Ipv6Reads =
    [
        CommandSpec.Of("ip", "-j", "-6", "addr", "show"),
        CommandSpec.Of("ip", "-j", "-6", "route", "show", "table", "main"),
        CommandSpec.Of("ip", "-j", "-6", "neigh", "show"),
        CommandSpec.Of("sysctl", "-n", "net.ipv6.conf.all.forwarding"),
    ];

    private static readonly CommandSpec Ip6tablesSave = CommandSpec.Of("ip6tables-save");

    /// <summary>
    /// The IPv6 tables of a host reached by processes (not <see cref="IHereHost"/>): <c>ip -j -6</c> addresses, routes
    /// and neighbours, the IPv6 fdb entries (from the fdb read the IPv4 half shares), <c>ip6tables-save</c> and the
    /// forwarding sysctl; five more processes at once, only for a dual-stack spec (or a host with an earlier one's marks).
    /// </summary>
    private static async Task<Ipv6State?> Ipv6Async(IHostRunner runner, Task<string> fdb, Task<IptablesState> tables, CancellationToken cancellationToken)
    {
        var addresses = runner.MustAsync(Ipv6Reads[0], cancellationToken);
        var routes = runner.MustAsync(Ipv6Reads[1], cancellationToken);
        var neighbors = runner.MustAsync(Ipv6Reads[2], cancellationToken);
        var forward = runner.RunAsync(Ipv6Reads[3], cancellationToken);
        await Task.WhenAll(addresses, routes, neighbors, fdb, tables, forward).ConfigureAwait(false);
        var forwarding = await forward.ConfigureAwait(false);
        return new Ipv6State(
            StateParsers.ParseAddresses6(await addresses.ConfigureAwait(false)),
            StateParsers.ParseRoutes6(await routes.ConfigureAwait(false)),
            StateParsers.ParseNeighbors6(await neighbors.ConfigureAwait(false)),
            StateParsers.ParseFdb6(await fdb.ConfigureAwait(false)),
            await tables.ConfigureAwait(false),
            forwarding.Succeeded ? forwarding.StandardOutput.Trim() == "1" : null);
    }

    /// <summary>
    /// The IPv6 tables of the host overlayctl runs on: addresses, routes, neighbours and fdb entries from the rtnetlink
    /// snapshot, forwarding from <c>/proc/sys</c>; only <c>ip6tables-save</c> is a process.
    /// </summary>
    private static async Task<Ipv6State?> Ipv6HereAsync(IHereHost here, Task<RtnetlinkSnapshot> kernel, Task<IptablesState> ip6tables)
    {
        var v6 = (await kernel.ConfigureAwait(false)).Ipv6!;
        return new Ipv6State(v6.Addresses, v6.Routes, v6.Neighbors, v6.Fdb, await ip6tables.ConfigureAwait(false), Forwarding6(here));
    }

    private static async Task<IptablesState> Ip6tablesAsync(IHostRunner runner, CancellationToken cancellationToken) =>
        StateParsers.ParseIptablesSave(await runner.MustAsync(Ip6tablesSave, cancellationToken).ConfigureAwait(false));

    /// <summary><c>net.ipv6.conf.all.forwarding</c>; unknown (null) where the kernel has no IPv6, as <c>sysctl</c> failing is.</summary>
    private static bool? Forwarding6(IHereHost here)
    {
        try
        {
            return here.Sysctl("net.ipv6.conf.all.forwarding").Trim() == "1";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The files backends asked for, each only when its device (if it names one) is on the host.</summary>
    private static async Task<IReadOnlyList<(string path, string? content)>> BackendFilesAsync(
        IHostRunner runner, IReadOnlyList<HostRead.File> reads, Task<IReadOnlyList<LinkInfo>> links, CancellationToken cancellationToken)
    {
        if (reads.Count == 0) return [];
        var present = await links.ConfigureAwait(false);
        var paths = reads.Where(r => r.OnlyIfDevice is null || present.Any(l => l.Name == r.OnlyIfDevice)).Select(r => r.Path).Distinct(StringComparer.Ordinal).ToList();
        var read = await Task.WhenAll(paths.Select(async path => (path, content: await runner.ReadFileAsync(path, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
        return read;
    }

    /// <summary>
    /// The public key of each private key file asked about, by a fixed program whose only output is that key
    /// (<see cref="WireGuardPrograms.PublicKey"/>): the private key is read by wg on the host, never by overlayctl.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, string?>> PublicKeysAsync(IHostRunner runner, IReadOnlyList<HostRead.WireGuardPublicKey> reads, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var keyFile in reads.Select(r => r.KeyFile).Distinct(StringComparer.Ordinal))
        {
            var run = await runner.RunAsync(new CommandSpec("sh", ["-c", WireGuardPrograms.PublicKey, "sh", HostCommands.CheckedPath(keyFile)]), cancellationToken).ConfigureAwait(false);
            var key = run.StandardOutput.Trim();
            result[keyFile] = run.ExitCode switch
            {
                0 when WireGuardPrograms.IsKey(key) => key,
                3 => null,
                // Never echo what came out: on a broken file it could be anything.
                0 => throw new HostFileException($"{runner.HostName}: the WireGuard key file {keyFile} holds no valid private key (wg pubkey printed no key) (fix: remove it, and apply makes a new one; peers learn the new public key from the lease)"),
                _ => throw new HostFileException($"{runner.HostName}: cannot read the public key of {keyFile}: {run.StandardError.Trim()} (exit {run.ExitCode})"),
            };
        }
        return result;
    }

    /// <summary>Each asked WireGuard device that exists, by <see cref="WireGuardPrograms.Show"/>, which drops every secret on the host.</summary>
    private static async Task<IReadOnlyDictionary<string, WireGuardDevice>> WireGuardAsync(
        IHostRunner runner, IReadOnlyList<HostRead.WireGuard> reads, Task<IReadOnlyList<LinkInfo>> links, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, WireGuardDevice>(StringComparer.Ordinal);
        if (reads.Count == 0) return result;
        var present = await links.ConfigureAwait(false);
        foreach (var device in reads.Select(r => r.Device).Distinct(StringComparer.Ordinal).Where(d => present.Any(l => l.Name == d && l.Kind is "wireguard" or "tun")))
        {
            var run = await runner.RunAsync(new CommandSpec("sh", ["-c", WireGuardPrograms.Show, "sh", device]), cancellationToken).ConfigureAwait(false);
            // A tun device no WireGuard serves (its wireguard-go gone) reads as a device with nothing set.
            result[device] = (run.Succeeded ? WireGuardPrograms.ParseShow(run.StandardOutput) : null) ?? new WireGuardDevice(null, 0, []);
        }
        return result;
    }

    /// <summary>
    /// <c>ethtool -k</c> for each asked device that exists (one made by this apply is set as it is created).
    /// The spec asked for the setting, so a host without ethtool fails here, saying so.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, bool>> OffloadAsync(
        IHostRunner runner, IReadOnlyList<HostRead.TxChecksumOffload> reads, Task<IReadOnlyList<LinkInfo>> links, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (reads.Count == 0) return result;
        var present = await links.ConfigureAwait(false);
        foreach (var device in reads.Select(r => r.Device).Distinct(StringComparer.Ordinal).Where(d => present.Any(l => l.Name == d)))
        {
            var text = await runner.MustAsync(CommandSpec.Of("ethtool", "-k", device), cancellationToken).ConfigureAwait(false);
            if (StateParsers.ParseTxChecksumOffload(text) is { } on) result[device] = on;
        }
        return result;
    }

    private static async Task<IptablesState> IptablesAsync(IHostRunner runner, CancellationToken cancellationToken) =>
        StateParsers.ParseIptablesSave(await runner.MustAsync(IptablesSave, cancellationToken).ConfigureAwait(false));

    private static async Task<Ipv4Address?> SshClientAsync(IHostRunner runner, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(SshClientVariable, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? SshClient(result.StandardOutput) : null;
    }

    /// <summary><c>SSH_CLIENT</c> is "ADDRESS PORT PORT"; unset (not an ssh session) or IPv6 is none.</summary>
    private static Ipv4Address? SshClient(string? value) =>
        value is not null && Ipv4Address.TryParse(value.Split(' ', 2)[0].Trim(), out var address) ? address : null;

    /// <summary>Links, addresses, routes, neighbours and fdb by <c>ip -j</c> and <c>bridge -j</c>: five processes, run at once.</summary>
    private static async Task<RtnetlinkSnapshot> KernelAsync(IHostRunner runner, Task<string> fdb, CancellationToken cancellationToken)
    {
        var links = runner.MustAsync(Kernel[0], cancellationToken);
        var addresses = runner.MustAsync(Kernel[1], cancellationToken);
        var routes = runner.MustAsync(Kernel[2], cancellationToken);
        var neighbors = runner.MustAsync(Kernel[3], cancellationToken);
        await Task.WhenAll(links, addresses, routes, neighbors, fdb).ConfigureAwait(false);
        return new RtnetlinkSnapshot(
            StateParsers.ParseLinks(await links.ConfigureAwait(false)),
            StateParsers.ParseAddresses(await addresses.ConfigureAwait(false)),
            StateParsers.ParseRoutes(await routes.ConfigureAwait(false)),
            StateParsers.ParseNeighbors(await neighbors.ConfigureAwait(false)),
            StateParsers.ParseFdb(await fdb.ConfigureAwait(false)));
    }

    private static async Task<IReadOnlyList<LinkInfo>> LinksAsync(Task<RtnetlinkSnapshot> kernel) => (await kernel.ConfigureAwait(false)).Links;

    /// <summary>Open vSwitch, once, when a read asks for it unconditionally or its device is on the host.</summary>
    private static async Task<OvsState?> OvsAsync(IHostRunner runner, IReadOnlyList<HostRead.OpenVSwitch> reads, Task<IReadOnlyList<LinkInfo>> links, CancellationToken cancellationToken)
    {
        if (reads.Count == 0) return null;
        var read = reads.FirstOrDefault(r => r.OnlyIfDevice is null);
        if (read is null)
        {
            var present = await links.ConfigureAwait(false);
            read = reads.FirstOrDefault(r => present.Any(l => l.Name == r.OnlyIfDevice));
        }
        return read is null ? null : await OvsObserver.ObserveAsync(runner, read.Db, cancellationToken).ConfigureAwait(false);
    }
}
