using System.Globalization;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Cli.Tests.Support;

/// <summary>
/// A namespace lab for one test class: a spec file with unique names, hosts from <c>lab up</c>, and a
/// "container" (a namespace with a veth in the host's docker0) per host. Everything it made is removed
/// on dispose, whatever the test did.
/// </summary>
internal sealed class LabCluster : IAsyncDisposable
{
    private readonly List<string> _containers = [];
    private readonly string _underlayStem;

    /// <param name="ovs">
    /// Give every host its own Open vSwitch (userspace datapath, database under <see cref="Dir"/>), which
    /// <c>lab up</c> starts; the underlay address then lives on the host's OVS bridge br-phy, so the spec
    /// names no interface and every backend finds it by address.
    /// </param>
    /// <param name="underlay">
    /// The hosts' underlay /24 (they take .11, .12, ...), one of 198.18.0.0/15 that the machine holds no address in
    /// (never 192.0.2.0/24, this machine's eth0 network, which <c>lab up</c> refuses), and a /24 of its own per test
    /// class, so classes may run at once.
    /// </param>
    /// <param name="namespacePrefix">What the lab's namespace names start with (hosts and containers).</param>
    /// <param name="privateRun">
    /// Give every host its own <c>/run/wireguard</c> (<see cref="RunPaths.NetnsPrivate"/>), as a WireGuard lab needs:
    /// wireguard-go and wg meet there, and namespace hosts otherwise share it.
    /// </param>
    public LabCluster(string etcdUrl, int hosts, string underlay, string backend = "vxlan", string extraNetwork = "", bool ovs = false,
        string namespacePrefix = "e", bool privateRun = false)
    {
        _prefix = namespacePrefix;
        PrivateRun = privateRun;
        Ovs = ovs;
        _underlayStem = underlay[..underlay.LastIndexOf('.')];
        Id = Convert.ToHexString(Guid.NewGuid().ToByteArray())[..6].ToLowerInvariant();
        Dir = Directory.CreateTempSubdirectory("overlayctl-e2e-").FullName;
        EtcdUrl = etcdUrl;
        Backend = backend;
        ExtraNetwork = extraNetwork;
        HostNames = Enumerable.Range(1, hosts).Select(i => $"n{i}").ToList();
        SpecPath = Path.Combine(Dir, "cluster.yaml");
        WriteSpec();
        if (privateRun)
            foreach (var h in HostNames) Directory.CreateDirectory(Path.Combine(RunPaths.NetnsPrivate(Netns(h)), "wireguard"));
    }

    private readonly string _prefix;

    public bool PrivateRun { get; }

    public bool Ovs { get; }
    public string Id { get; }
    public string Dir { get; }
    public string EtcdUrl { get; }
    public string Backend { get; set; }
    public string ExtraNetwork { get; set; }

    /// <summary>The overlay's IPv4 network (<c>network.cidr</c>): a test class may take one of its own.</summary>
    public string Cidr { get; set; } = "10.244.0.0/16";

    /// <summary>Extra keys for the spec's docker section (<c>bridge: br-x</c>, <c>restart: [...]</c>), one per line.</summary>
    public string ExtraDocker { get; set; } = "";
    public List<string> HostNames { get; }
    public string SpecPath { get; }

    public string Netns(string host) => $"{_prefix}{Id}-{host}";

    /// <summary>The namespace of the container <see cref="AddContainer"/> attaches to <paramref name="host"/>.</summary>
    public string ContainerNs(string host) => $"{_prefix}{Id}-c{host}";

    /// <summary>
    /// A command in the host's namespace as overlayctl runs it there: with the host's own /run/wireguard when the lab
    /// gives it one, so <c>wg</c> reaches the host's wireguard-go.
    /// </summary>
    public string InHostRun(string host, params string[] args) => PrivateRun
        ? Sh.Must("ip", ["netns", "exec", Netns(host), "sh", "-c", "mkdir -p /run/wireguard && mount --bind \"$1\" /run/wireguard && shift && exec \"$@\"", "sh", Path.Combine(RunPaths.NetnsPrivate(Netns(host)), "wireguard"), .. args])
        : InHost(host, args);

    public string Address(string host) => _underlayStem + "." + (10 + int.Parse(host[1..], CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);

    /// <summary>The IPv6 underlay stem (<c>fd00:198:18:150::</c>): when set, every host gets <c>address6</c> STEM + (10 + n), which lab up puts on its eth0.</summary>
    public string? Underlay6 { get; set; }

    public string? Address6(string host) => Underlay6 is null ? null : Underlay6 + (10 + int.Parse(host[1..], CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);

    public void WriteSpec()
    {
        var hosts = string.Concat(HostNames.Select(h => $"""
              - name: {h}
                address: {Address(h)}
            {(Underlay6 is null ? "" : $"    address6: \"{Address6(h)}\"\n")}{(Ovs ? "" : "    interface: eth0\n")}    connection: netns://{Netns(h)}

            """));
        File.WriteAllText(SpecPath, $"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: e{Id}
            etcd:
              endpoints: [{EtcdUrl}]
              prefix: /e2e/{Id}/network
            network:
              cidr: {Cidr}
              backend: {Backend}
            {(Ovs ? $"  ovs: {{ db: \"unix:{OvsDb}\", datapathType: netdev }}" : "")}
            {ExtraNetwork}
            docker:
              daemonConfig: {Dir}/{"{host}"}/daemon.json
              subnetEnv: {Dir}/{"{host}"}/subnet.env
            {string.Concat(ExtraDocker.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l + "\n"))}
            hosts:
            {hosts}
            """);
    }

    /// <summary>A host's OVS database socket, with the spec's <c>{host}</c> placeholder.</summary>
    public string OvsDb => Path.Combine(Dir, "ovs", "{host}", "db.sock");

    /// <summary><c>ovs-vsctl</c> against a host's own OVS.</summary>
    public string Vsctl(string host, params string[] args) => Sh.Must("ovs-vsctl", ["--db=unix:" + OvsDb.Replace("{host}", host, StringComparison.Ordinal), .. args]);

    public Task<CliResult> RunAsync(params string[] args) => CliRun.RunAsync([.. args, "-f", SpecPath]);

    /// <summary>Attaches a container namespace to the host's docker0 at <c>.10</c> of its subnet; returns the container's address.</summary>
    public string AddContainer(string host, string subnet)
    {
        var container = ContainerNs(host);
        var veth = $"e{Id}{host}";
        var network = subnet.Split('/')[0];
        var prefix = subnet.Split('/')[1];
        var stem = network[..network.LastIndexOf('.')];
        var address = $"{stem}.10";
        Sh.Must("ip", "netns", "add", container);
        _containers.Add(container);
        Sh.Must("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", container);
        Sh.Must("ip", "link", "set", veth, "netns", Netns(host));
        Sh.Must("ip", "-n", Netns(host), "link", "set", veth, "master", "docker0", "up");
        Sh.Must("ip", "-n", container, "addr", "add", $"{address}/{prefix}", "dev", "eth0");
        Sh.Must("ip", "-n", container, "link", "set", "eth0", "up");
        Sh.Must("ip", "-n", container, "link", "set", "lo", "up");
        Sh.Must("ip", "-n", container, "route", "add", "default", "via", $"{stem}.1");
        return address;
    }

    /// <summary>Gives the host's container the address <c>::a</c> of <paramref name="subnet6"/> and its default IPv6 route via <c>::1</c> (the bridge); returns the address.</summary>
    public string AddContainer6(string host, string subnet6)
    {
        var network = subnet6.Split('/')[0];
        var address = network + "a";
        Sh.Must("ip", "-n", ContainerNs(host), "addr", "add", $"{address}/{subnet6.Split('/')[1]}", "dev", "eth0", "nodad");
        Sh.Must("ip", "-n", ContainerNs(host), "-6", "route", "replace", "default", "via", network + "1");
        return address;
    }

    public bool Ping6(string fromHost, string address) =>
        Sh.Run("ip", "netns", "exec", ContainerNs(fromHost), "ping", "-6", "-c", "1", "-W", "2", address).ExitCode == 0;

    /// <summary>Removes the container namespaces (their veths leave the hosts' bridges with them).</summary>
    public void RemoveContainers()
    {
        foreach (var c in _containers) Sh.Run("ip", "netns", "del", c);
        _containers.Clear();
    }

    public bool Ping(string fromHost, string address) =>
        Sh.Run("ip", "netns", "exec", ContainerNs(fromHost), "ping", "-c", "1", "-W", "2", address).ExitCode == 0;

    public string InHost(string host, params string[] args) => Sh.Must("ip", ["netns", "exec", Netns(host), .. args]);

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _containers) Sh.Run("ip", "netns", "del", c);
        await RunAsync("lab", "down");
        // Hosts a test removed from the spec are not in lab down's view any more.
        foreach (var h in Enumerable.Range(1, 16).Select(i => $"n{i}"))
            if (Sh.Run("ip", "netns", "del", Netns(h)).ExitCode == 0) Sh.Run("ip", "link", "del", $"e{Id}{h}");
        // OVS daemons of hosts lab down did not see (or if it failed): stop them by pid file.
        var ovsDir = Path.Combine(Dir, "ovs");
        if (Directory.Exists(ovsDir))
            foreach (var pidFile in Directory.EnumerateFiles(ovsDir, "*.pid", SearchOption.AllDirectories))
                Sh.Run("kill", File.ReadAllText(pidFile).Trim());
        // A wireguard-go an apply started and no destroy stopped (a failed test): by its pid file, then its stand-in /run.
        foreach (var pidFile in Directory.Exists(RunPaths.Root) ? Directory.EnumerateFiles(RunPaths.Root, $"wireguard-e{Id}-*.pid") : [])
        {
            Sh.Run("kill", File.ReadAllText(pidFile).Trim());
            File.Delete(pidFile);
        }
        foreach (var h in Enumerable.Range(1, 16).Select(i => $"n{i}"))
            if (Directory.Exists(RunPaths.NetnsPrivate(Netns(h)))) Directory.Delete(RunPaths.NetnsPrivate(Netns(h)), recursive: true);
        Directory.Delete(Dir, recursive: true);
    }
}
