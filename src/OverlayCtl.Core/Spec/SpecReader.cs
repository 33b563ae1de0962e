using System.Globalization;
using System.Net;
using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace OverlayCtl.Core.Spec;

/// <summary>Walks the YAML tree once, resolving defaults and recording every located problem.</summary>
internal sealed class SpecReader(string file)
{
    private static readonly string[] RootKeys = ["apiVersion", "kind", "name", "etcd", "network", "docker", "leases", "hosts"];
    private static readonly string[] EtcdKeys = ["endpoints", "prefix", "tls"];
    private static readonly string[] TlsKeys = ["ca", "cert", "key"];
    /// <summary>The keys of network: every backend shares; each backend adds its own (<see cref="IBackend.NetworkKeys"/>).</summary>
    private static readonly string[] NetworkKeys = ["cidr", "subnetLength", "subnetMin", "subnetMax", "backend", "mtu", "ipMasq", "ipv6", .. BackendRegistry.NetworkKeys];
    private static readonly string[] Ipv6Keys = ["cidr", "subnetLength", "subnetMin", "subnetMax"];
    private static readonly string[] DockerKeys = ["bridge", "daemonConfig", "subnetEnv", "restart"];
    private static readonly string[] HostKeys = ["name", "address", "address6", "interface", "subnet", "subnet6", "connection", "sshKey"];

    public List<SpecError> Errors { get; } = [];

    private readonly Dictionary<string, (int Line, int Column)> _places = new(StringComparer.Ordinal);

    private void Place(string key, YamlNode node) => _places[key] = ((int)node.Start.Line, (int)node.Start.Column);

    public ClusterSpec? Read(YamlNode root)
    {
        var map = Mapping(root, "the spec", RootKeys);
        if (map is null) return null;

        var apiVersion = RequiredString(map, root, "apiVersion", "the spec");
        if (apiVersion is not null && apiVersion.Value != SpecLoader.ApiVersion)
            Error(apiVersion.Node, $"apiVersion '{apiVersion.Value}' is not supported", $"use apiVersion: {SpecLoader.ApiVersion}");
        var kind = RequiredString(map, root, "kind", "the spec");
        if (kind is not null && kind.Value != "Cluster")
            Error(kind.Node, $"kind '{kind.Value}' is not supported", "use kind: Cluster");
        var name = RequiredString(map, root, "name", "the spec");
        if (name is not null && !Names.IsHostName(name.Value))
            Error(name.Node, $"name '{name.Value}' is not a safe name", "use 1-15 lower-case letters, digits or '-', starting and ending with a letter or digit");

        var etcd = ReadEtcd(map.GetValueOrDefault("etcd"));
        var docker = ReadDocker(map.GetValueOrDefault("docker"));
        var rootSection = new SpecSection(this, root, map.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal));
        var network = ReadNetwork(map.GetValueOrDefault("network"), root, rootSection, docker);
        var hosts = ReadHosts(map.GetValueOrDefault("hosts"), root, network);
        var ttl = ReadLeaseTtl(map.GetValueOrDefault("leases"));

        if (Errors.Count > 0 || name is null || network is null || hosts is null) return null;
        var spec = new ClusterSpec(name.Value, etcd, network, docker, hosts, file) { Locations = new SpecLocations(file, _places), LeaseTtl = ttl };
        // Asked once every backend's settings are read: a device's name may follow from them (flannel.<vni>).
        if (BackendRegistry.DeviceOwner(spec, docker.Bridge) is { } owner)
        {
            rootSection.ErrorAtFirst($"docker.bridge {docker.Bridge} is the {owner.Name} backend's device: the two would fight over one interface",
                "give the docker bridge a name of its own (default docker0)", ["docker", "bridge"]);
            return null;
        }
        return spec;
    }

    /// <summary><c>leases.ttl</c>: how long an agent's lease lives without keep-alive; 0 or absent for reservations.</summary>
    private TimeSpan? ReadLeaseTtl(Entry? entry)
    {
        if (entry is null || Mapping(entry.Value, "leases", ["ttl"]) is not { } map || !map.TryGetValue("ttl", out var t) || Scalar(t.Value, "a duration") is not { } text)
            return null;
        if (text is "0" or "0s") return null;
        if (GoDuration.Parse(text) is { } ttl && ttl >= TimeSpan.FromSeconds(2)) return ttl;
        Error(t.Value, $"leases.ttl '{text}' is not a duration of 2s or more", "write a duration such as 24h (flannel's) or 30m, or 0 for leases that never expire");
        return null;
    }

    private EtcdSpec ReadEtcd(Entry? entry)
    {
        var endpoints = new List<Uri>();
        var prefix = EtcdSpec.DefaultPrefix;
        TlsSpec? tls = null;
        var map = entry is null ? null : Mapping(entry.Value, "etcd", EtcdKeys);
        if (map is not null)
        {
            if (map.TryGetValue("endpoints", out var list))
            {
                foreach (var item in Sequence(list.Value, "etcd.endpoints"))
                {
                    var text = Scalar(item, "an etcd endpoint URL");
                    if (text is null) continue;
                    if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath is "/" or "" && string.IsNullOrEmpty(uri.UserInfo))
                        endpoints.Add(uri);
                    else if (uri is not null && uri.UserInfo.Length > 0)
                        // Never echo it: the part before '@' may be a password.
                        Error(item, $"the etcd endpoint {uri.Scheme}://{uri.Authority} carries credentials", "remove them; use --user, or OVERLAYCTL_USER and OVERLAYCTL_PASSWORD");
                    else
                        Error(item, $"'{text}' is not an etcd endpoint", "write http://HOST:PORT or https://HOST:PORT (no path, no credentials)");
                }
            }
            if (map.TryGetValue("prefix", out var p))
            {
                var text = Scalar(p.Value, "an etcd key prefix");
                if (text is not null && Names.IsEtcdPrefix(text)) prefix = text;
                else if (text is not null) Error(p.Value, $"prefix '{text}' is not a usable etcd prefix", "start with '/', no trailing '/', e.g. /coreos.com/network");
            }
            if (map.TryGetValue("tls", out var t) && Mapping(t.Value, "etcd.tls", TlsKeys) is { } tlsMap)
            {
                tls = new TlsSpec(OptionalPath(tlsMap, "ca"), OptionalPath(tlsMap, "cert"), OptionalPath(tlsMap, "key"))
                {
                    CaSource = TlsSource(tlsMap, "ca"),
                    CertSource = TlsSource(tlsMap, "cert"),
                    KeySource = TlsSource(tlsMap, "key"),
                };
                if ((tls.Cert is null) != (tls.Key is null))
                    Error(t.Value, "etcd.tls needs both cert and key, or neither", "add the missing one");
            }
        }
        if (endpoints.Count == 0) endpoints.Add(new Uri("http://127.0.0.1:2379"));
        return new EtcdSpec(endpoints, prefix, tls);
    }

    private NetworkSpec? ReadNetwork(Entry? entry, YamlNode root, SpecSection rootSection, DockerSpec docker)
    {
        if (entry is null)
        {
            Error(root, "network is missing", "add a network: section with at least cidr: 10.244.0.0/16");
            return null;
        }
        var map = Mapping(entry.Value, "network", NetworkKeys);
        if (map is null) return null;

        Ipv4Cidr? cidr = null;
        var cidrText = RequiredString(map, entry.Value, "cidr", "network");
        if (cidrText is not null)
        {
            Place(SpecLocations.Network("cidr"), cidrText.Node);
            if (Ipv4Cidr.TryParse(cidrText.Value, out var c)) cidr = c;
            else if (Ipv4Cidr.TryParseLoose(cidrText.Value, out var a, out var len))
                Error(cidrText.Node, $"'{cidrText.Value}' has host bits set", $"write {Ipv4Cidr.Containing(a, len)}");
            else Error(cidrText.Node, $"'{cidrText.Value}' is not an IPv4 network", "write a.b.c.d/n, e.g. 10.244.0.0/16");
        }

        var subnetLength = cidr is { } n0 ? SubnetDefaults.SubnetLength(n0) : 24;
        if (map.TryGetValue("subnetLength", out var sl) && Int(sl.Value, "subnetLength") is { } l)
        {
            Place(SpecLocations.Network("subnetLength"), sl.Value);
            if (cidr is { } n && (l <= n.PrefixLength || l > SubnetDefaults.MaxSubnetLength))
                Error(sl.Value, $"subnetLength {l} does not fit the network {n}", $"use a length from {n.PrefixLength + 1} to {SubnetDefaults.MaxSubnetLength}");
            else subnetLength = l;
        }
        else if (cidr is { } n && subnetLength > SubnetDefaults.MaxSubnetLength)
            Error(cidrText!.Node, $"the network {n} is too small to hold host subnets", "use a network of /28 or larger");

        var backend = BackendRegistry.Default;
        if (map.TryGetValue("backend", out var b) && Scalar(b.Value, "a backend") is { } bt)
        {
            if (BackendRegistry.Find(bt) is { } found) backend = found;
            else Error(b.Value, $"backend '{bt}' is not known", $"use {BackendRegistry.Choices}");
        }
        int? mtu = map.TryGetValue("mtu", out var m) ? Int(m.Value, "mtu", 576, 9000) : null;
        var ipMasq = !map.TryGetValue("ipMasq", out var im) || (Bool(im.Value, "ipMasq") ?? true);

        var section = new SpecSection(this, entry.Value, map.ToDictionary(e => e.Key, e => e.Value.Value, StringComparer.Ordinal));
        var settings = new Dictionary<string, BackendSettings>(StringComparer.Ordinal);
        foreach (var each in BackendRegistry.All)
            if (each.ReadSpec(new BackendSpecContext(section, rootSection, docker, Selected: each == backend)) is { } read)
                settings[each.Name] = read;

        if (cidr is not { } network) return null;
        var subnetMin = SubnetDefaults.SubnetMin(network, Math.Min(subnetLength, 32));
        var subnetMax = SubnetDefaults.SubnetMax(network, Math.Min(subnetLength, 32));
        if (map.TryGetValue("subnetMin", out var smin)) subnetMin = Bound(smin.Value, "subnetMin", network, subnetLength) ?? subnetMin;
        if (map.TryGetValue("subnetMax", out var smax)) subnetMax = Bound(smax.Value, "subnetMax", network, subnetLength) ?? subnetMax;
        if (subnetMin > subnetMax)
            Error(smax?.Value ?? smin?.Value ?? entry.Value, $"subnetMin {subnetMin} is above subnetMax {subnetMax}", "swap them, or widen the range");
        Ipv6NetworkSpec? ipv6 = null;
        if (map.TryGetValue("ipv6", out var v6))
        {
            ipv6 = ReadIpv6(v6.Value);
            if (!backend.SupportsIpv6)
                Error(v6.Key, $"network.ipv6 is set, but backend {backend.Name} carries IPv4 only", $"use backend {string.Join(" or ", BackendRegistry.All.Where(b => b.SupportsIpv6).Select(b => b.Name))} for a dual-stack overlay, or remove network.ipv6");
        }
        return new NetworkSpec(network, subnetLength, subnetMin, subnetMax, backend, mtu, ipMasq, settings) { Ipv6 = ipv6 };
    }

    /// <summary>
    /// <c>network.ipv6</c>, checked as the IPv4 keys are, with flannel's defaults: a /64 per host when the
    /// network is a /62 or larger (else two bits longer than it), the first subnet skipped, up to the last.
    /// </summary>
    private Ipv6NetworkSpec? ReadIpv6(YamlNode node)
    {
        var map = Mapping(node, "network.ipv6", Ipv6Keys);
        if (map is null) return null;
        var cidrText = RequiredString(map, node, "cidr", "network.ipv6");
        if (cidrText is null) return null;
        Place(SpecLocations.Network("ipv6.cidr"), cidrText.Node);
        if (!Ipv6.TryParse(cidrText.Value, out var network))
        {
            if (Ipv6.TryParseLoose(cidrText.Value, out var a, out var len))
                Error(cidrText.Node, $"'{cidrText.Value}' has host bits set", $"write {Ipv6.Containing(a, len)}");
            else Error(cidrText.Node, $"'{cidrText.Value}' is not an IPv6 network", "write addr/n, e.g. fd00:10:244::/48");
            return null;
        }
        var subnetLength = SubnetDefaults.SubnetLength6(network);
        if (map.TryGetValue("subnetLength", out var sl))
        {
            if (Int(sl.Value, "network.ipv6.subnetLength") is not { } l) return null;
            if (l <= network.PrefixLength || l > SubnetDefaults.MaxSubnetLength6)
            {
                Error(sl.Value, $"network.ipv6.subnetLength {l} does not fit the network {network}", $"use a length from {network.PrefixLength + 1} to {SubnetDefaults.MaxSubnetLength6}");
                return null;
            }
            subnetLength = l;
        }
        else if (subnetLength > SubnetDefaults.MaxSubnetLength6)
        {
            Error(cidrText.Node, $"the network {network} is too small to hold host subnets", $"use a network of /{SubnetDefaults.MaxSubnetLength6 - 2} or larger");
            return null;
        }
        var subnetMin = SubnetDefaults.SubnetMin6(network, subnetLength);
        var subnetMax = SubnetDefaults.SubnetMax6(network, subnetLength);
        if (map.TryGetValue("subnetMin", out var smin)) subnetMin = Bound6(smin.Value, "subnetMin", network, subnetLength) ?? subnetMin;
        if (map.TryGetValue("subnetMax", out var smax)) subnetMax = Bound6(smax.Value, "subnetMax", network, subnetLength) ?? subnetMax;
        if (Ipv6.ToNumber(subnetMin) > Ipv6.ToNumber(subnetMax))
        {
            Error(smax?.Value ?? smin?.Value ?? node, $"network.ipv6.subnetMin {subnetMin} is above subnetMax {subnetMax}", "swap them, or widen the range");
            return null;
        }
        return new Ipv6NetworkSpec(network, subnetLength, subnetMin, subnetMax);
    }


    private IPAddress? Bound6(YamlNode node, string key, IPNetwork network, int subnetLength)
    {
        var text = Scalar(node, "an IPv6 address");
        if (text is null) return null;
        if (!Ipv6.TryParseAddress(text, out var address))
        {
            Error(node, $"network.ipv6.{key} '{text}' is not an IPv6 address", "write the first address of a subnet, e.g. fd00:10:244:1::");
            return null;
        }
        if (!network.Contains(address))
        {
            Error(node, $"network.ipv6.{key} {address} is outside the network {network}", $"use an address inside {network}");
            return null;
        }
        var aligned = Ipv6.Containing(address, subnetLength).BaseAddress;
        if (!aligned.Equals(address))
        {
            Error(node, $"network.ipv6.{key} {address} is not aligned to /{subnetLength}", $"use {aligned}");
            return null;
        }
        return address;
    }

    private Ipv4Address? Bound(YamlNode node, string key, Ipv4Cidr network, int subnetLength)
    {
        var text = Scalar(node, "an IPv4 address");
        if (text is null) return null;
        if (!Ipv4Address.TryParse(text, out var address))
        {
            Error(node, $"{key} '{text}' is not an IPv4 address", "write the first address of a subnet, e.g. 10.244.1.0");
            return null;
        }
        if (!network.Contains(address))
        {
            Error(node, $"{key} {address} is outside the network {network}", $"use an address inside {network}");
            return null;
        }
        var aligned = Ipv4Cidr.Containing(address, subnetLength).Network;
        if (aligned != address)
        {
            Error(node, $"{key} {address} is not aligned to /{subnetLength}", $"use {aligned}");
            return null;
        }
        return address;
    }

    private DockerSpec ReadDocker(Entry? entry)
    {
        var bridge = "docker0";
        string? daemonConfig = "/etc/docker/daemon.json";
        string? subnetEnv = "/run/flannel/subnet.env";
        List<string>? restart = null;
        if (entry is not null && Mapping(entry.Value, "docker", DockerKeys) is { } map)
        {
            if (map.TryGetValue("bridge", out var b)) bridge = InterfaceName(b.Value, "docker.bridge") ?? bridge;
            if (map.TryGetValue("daemonConfig", out var dc)) daemonConfig = NullablePath(dc.Value, "daemonConfig");
            if (map.TryGetValue("subnetEnv", out var se)) subnetEnv = NullablePath(se.Value, "subnetEnv");
            if (map.TryGetValue("restart", out var r)) restart = ArgumentList(r.Value, "docker.restart");
        }
        return new DockerSpec(bridge, daemonConfig, subnetEnv, restart);
    }

    /// <summary>A command as its argument list, program first: each item reaches execve as it is, so a single string (a shell line) is refused.</summary>
    private List<string>? ArgumentList(YamlNode node, string key)
    {
        const string Example = "[systemctl, restart, docker]";
        if (node is YamlScalarNode s && IsNull(s)) return null;
        if (node is YamlScalarNode)
        {
            Error(node, $"{key} is one string; overlayctl runs no shell", $"write the program and its arguments as a list, e.g. {Example}");
            return null;
        }
        var items = Sequence(node, key);
        if (node is YamlSequenceNode && items.Count == 0)
            Error(node, $"{key} is empty", $"name the program and its arguments, e.g. {Example}, or remove the key");
        var arguments = new List<string>();
        foreach (var item in items)
        {
            if (Scalar(item, $"an argument of {key}") is not { } text) continue;
            if (text.Any(char.IsControl)) Error(item, $"an argument of {key} holds a control character", "remove it");
            else arguments.Add(text);
        }
        return arguments.Count > 0 && arguments.Count == items.Count ? arguments : null;
    }

    private List<HostSpec>? ReadHosts(Entry? entry, YamlNode root, NetworkSpec? network)
    {
        if (entry is null)
        {
            Error(root, "hosts is missing", "add a hosts: list with at least one host (name, address)");
            return null;
        }
        var items = Sequence(entry.Value, "hosts");
        if (items.Count == 0)
        {
            Error(entry.Value, "hosts is empty", "list at least one host with name and address");
            return null;
        }
        var hosts = new List<HostSpec>();
        var names = new Dictionary<string, YamlNode>();
        var addresses = new Dictionary<Ipv4Address, string>();
        var addresses6 = new Dictionary<IPAddress, string>();
        var pins = new List<(Ipv4Cidr Subnet, string Host, YamlNode Node)>();
        var pins6 = new List<(IPNetwork Subnet, string Host, YamlNode Node)>();
        foreach (var item in items)
        {
            var map = Mapping(item, "a host", HostKeys);
            if (map is null) continue;
            var name = RequiredString(map, item, "name", "a host");
            var label = name?.Value ?? "this host";
            if (name is not null)
            {
                if (!Names.IsHostName(name.Value))
                    Error(name.Node, $"host name '{name.Value}' is not safe as a namespace or interface name", "use 1-15 lower-case letters, digits or '-', starting and ending with a letter or digit");
                else if (names.TryGetValue(name.Value, out var first))
                    Error(name.Node, $"host name '{name.Value}' is used twice (first at line {first.Start.Line})", "give every host its own name");
                else names[name.Value] = name.Node;
            }

            Ipv4Address? address = null;
            var addressText = RequiredString(map, item, "address", $"host {label}");
            if (addressText is not null)
            {
                if (!Ipv4Address.TryParse(addressText.Value, out var a))
                    Error(addressText.Node, $"address '{addressText.Value}' of host {label} is not an IPv4 address", "write the host's underlay address, e.g. 198.18.220.11");
                else if (network is not null && network.Cidr.Contains(a))
                    Error(addressText.Node, $"address {a} of host {label} lies inside the overlay {network.Cidr}", "use the host's underlay (public) address, outside the overlay network");
                else if (addresses.TryGetValue(a, out var holder))
                    Error(addressText.Node, $"address {a} is used by hosts {holder} and {label}", "give every host its own underlay address");
                else
                {
                    addresses[a] = label;
                    address = a;
                    Place(SpecLocations.Host(label, "address"), addressText.Node);
                }
            }

            IPAddress? address6 = null;
            if (map.TryGetValue("address6", out var a6) && Scalar(a6.Value, "an IPv6 address") is { } address6Text)
            {
                if (!Ipv6.TryParseAddress(address6Text, out var a))
                    Error(a6.Value, $"address6 '{address6Text}' of host {label} is not an IPv6 address", "write the host's IPv6 underlay address, e.g. fd00:198:18:150::11");
                else if (network?.Ipv6 is { } overlay6 && overlay6.Cidr.Contains(a))
                    Error(a6.Value, $"address6 {a} of host {label} lies inside the IPv6 overlay {overlay6.Cidr}", "use the host's IPv6 underlay address, outside network.ipv6.cidr");
                else if (addresses6.TryGetValue(a, out var holder))
                    Error(a6.Value, $"address6 {a} is used by hosts {holder} and {label}", "give every host its own IPv6 underlay address");
                else
                {
                    addresses6[a] = label;
                    address6 = a;
                    Place(SpecLocations.Host(label, "address6"), a6.Value);
                }
            }
            else if (network?.Ipv6 is not null && addressText is not null)
                Error(item, $"host {label} has no address6, but network.ipv6 makes the overlay dual-stack", "add address6: the host's IPv6 underlay address (the IPv6 VXLAN and routes run over it)");

            var iface = map.TryGetValue("interface", out var i) ? InterfaceName(i.Value, "interface") : null;
            Ipv4Cidr? subnet = null;
            if (map.TryGetValue("subnet", out var s) && Scalar(s.Value, "a subnet") is { } subnetText)
            {
                subnet = Pin(s.Value, subnetText, label, network, pins);
                Place(SpecLocations.Host(label, "subnet"), s.Value);
            }
            IPNetwork? subnet6 = null;
            if (map.TryGetValue("subnet6", out var s6) && Scalar(s6.Value, "an IPv6 subnet") is { } subnet6Text)
            {
                if (network is not null && network.Ipv6 is null)
                    Error(s6.Key, $"host {label} pins subnet6, but the network has no network.ipv6", "add network.ipv6, or remove subnet6");
                else subnet6 = Pin6(s6.Value, subnet6Text, label, network?.Ipv6, pins6);
                Place(SpecLocations.Host(label, "subnet6"), s6.Value);
            }

            HostConnection connection = new HostConnection.Local();
            string? sshKey = null;
            if (map.TryGetValue("sshKey", out var k)) sshKey = NullablePath(k.Value, "sshKey");
            if (map.TryGetValue("connection", out var c) && Scalar(c.Value, "a connection") is { } connText)
                connection = Connection(c.Value, connText, sshKey) ?? connection;
            if (sshKey is not null && connection is not HostConnection.Ssh)
                Error(k!.Value, $"sshKey is set but host {label} does not connect over ssh", "remove sshKey, or use connection: ssh://user@host");

            if (name is not null && address is { } addr)
                hosts.Add(new HostSpec(name.Value, addr, iface, subnet, connection) { Address6 = address6, Subnet6 = subnet6 });
        }
        return hosts;
    }

    private Ipv4Cidr? Pin(YamlNode node, string text, string host, NetworkSpec? network, List<(Ipv4Cidr Subnet, string Host, YamlNode Node)> pins)
    {
        if (!Ipv4Cidr.TryParse(text, out var subnet))
        {
            var fix = Ipv4Cidr.TryParseLoose(text, out var a, out var l) ? $"write {Ipv4Cidr.Containing(a, l)}" : "write a.b.c.d/n, e.g. 10.244.5.0/24";
            Error(node, $"subnet '{text}' of host {host} is not an aligned IPv4 network", fix);
            return null;
        }
        if (network is null) return subnet;
        if (subnet.PrefixLength != network.SubnetLength)
        {
            Error(node, $"subnet {subnet} of host {host} is a /{subnet.PrefixLength}, but host subnets are /{network.SubnetLength}", $"use a /{network.SubnetLength}");
            return null;
        }
        if (subnet.Network < network.SubnetMin || subnet.Network > network.SubnetMax)
        {
            Error(node, $"subnet {subnet} of host {host} is outside the lease range {network.SubnetMin}-{network.SubnetMax}", "pick a subnet inside [subnetMin, subnetMax], or widen the range");
            return null;
        }
        foreach (var (other, otherHost, otherNode) in pins)
        {
            if (other.Overlaps(subnet))
            {
                Error(node, $"subnet {subnet} of host {host} overlaps {other} of host {otherHost} (line {otherNode.Start.Line})", "give each host its own subnet");
                return null;
            }
        }
        pins.Add((subnet, host, node));
        return subnet;
    }

    private IPNetwork? Pin6(YamlNode node, string text, string host, Ipv6NetworkSpec? network, List<(IPNetwork Subnet, string Host, YamlNode Node)> pins)
    {
        if (!Ipv6.TryParse(text, out var subnet))
        {
            var fix = Ipv6.TryParseLoose(text, out var a, out var l) ? $"write {Ipv6.Containing(a, l)}" : "write addr/n, e.g. fd00:10:244:5::/64";
            Error(node, $"subnet6 '{text}' of host {host} is not an aligned IPv6 network", fix);
            return null;
        }
        if (network is null) return subnet;
        if (subnet.PrefixLength != network.SubnetLength)
        {
            Error(node, $"subnet6 {subnet} of host {host} is a /{subnet.PrefixLength}, but IPv6 host subnets are /{network.SubnetLength}", $"use a /{network.SubnetLength}");
            return null;
        }
        var n = Ipv6.ToNumber(subnet.BaseAddress);
        if (n < Ipv6.ToNumber(network.SubnetMin) || n > Ipv6.ToNumber(network.SubnetMax))
        {
            Error(node, $"subnet6 {subnet} of host {host} is outside the IPv6 lease range {network.SubnetMin}-{network.SubnetMax}", "pick a subnet inside [network.ipv6.subnetMin, subnetMax], or widen the range");
            return null;
        }
        foreach (var (other, otherHost, otherNode) in pins)
        {
            if (Ipv6.Overlaps(other, subnet))
            {
                Error(node, $"subnet6 {subnet} of host {host} overlaps {other} of host {otherHost} (line {otherNode.Start.Line})", "give each host its own subnet6");
                return null;
            }
        }
        pins.Add((subnet, host, node));
        return subnet;
    }

    private HostConnection? Connection(YamlNode node, string text, string? sshKey)
    {
        if (text == "local") return new HostConnection.Local();
        if (text.StartsWith("netns://", StringComparison.Ordinal))
        {
            var ns = text["netns://".Length..];
            if (Names.IsNetnsName(ns)) return new HostConnection.Netns(ns);
            Error(node, $"'{ns}' is not a safe namespace name", "use letters, digits, '_', '.' or '-'");
            return null;
        }
        if (text.StartsWith("ssh://", StringComparison.Ordinal))
        {
            var rest = text["ssh://".Length..];
            var sudo = false;
            var question = rest.IndexOf('?', StringComparison.Ordinal);
            if (question >= 0)
            {
                var query = rest[(question + 1)..];
                rest = rest[..question];
                if (query is "sudo=true" or "sudo=false") sudo = query == "sudo=true";
                else
                {
                    Error(node, $"'{text}' has an unknown option '{query}'", "the one option is sudo: ssh://user@host?sudo=true runs every command through sudo -n");
                    return null;
                }
            }
            string? user = null;
            var at = rest.LastIndexOf('@');
            if (at >= 0)
            {
                user = rest[..at];
                rest = rest[(at + 1)..];
            }
            var port = 22;
            var colon = rest.LastIndexOf(':');
            if (colon >= 0)
            {
                if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
                {
                    Error(node, $"'{text}' has a bad port", "write ssh://user@host:PORT with PORT 1-65535");
                    return null;
                }
                rest = rest[..colon];
            }
            if ((user is not null && !Names.IsSshToken(user)) || !Names.IsSshToken(rest))
            {
                Error(node, $"'{text}' has an unsafe user or host", "use letters, digits, '.', '_' and '-' (not starting with '-')");
                return null;
            }
            if (Names.NumericShorthand(rest) is { } resolved)
            {
                Error(node, $"'{text}' names host '{rest}', a numeric shorthand that ssh resolves to {resolved}",
                    $"write the address in full, four decimal parts without leading zeros (ssh://{(user is null ? "" : user + "@")}{resolved}), or the host's name");
                return null;
            }
            return new HostConnection.Ssh(user, rest, port, sshKey) { Sudo = sudo };
        }
        Error(node, $"connection '{text}' is not known", "use local, ssh://user@host[:port][?sudo=true] or netns://NAME");
        return null;
    }

    // ---- typed readers: each records a located error and returns null on a bad value

    internal sealed record Entry(YamlScalarNode Key, YamlNode Value);

    /// <summary>The node at a path of mapping keys, if the spec has it.</summary>
    internal static YamlNode? Find(YamlNode? node, params string[] path)
    {
        foreach (var key in path)
            node = node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;
        return node;
    }

    private sealed record Located(string Value, YamlNode Node);

    internal Dictionary<string, Entry>? Mapping(YamlNode node, string what, string[] known)
    {
        if (node is not YamlMappingNode mapping)
        {
            Error(node, $"{what} must be a mapping (key: value lines)", $"write {what} as keys: {string.Join(", ", known)}");
            return null;
        }
        var result = new Dictionary<string, Entry>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key } scalar)
            {
                Error(keyNode, $"a key in {what} is not a plain name", "use a plain key");
                continue;
            }
            if (!known.Contains(key, StringComparer.Ordinal))
            {
                var near = known
                    .OrderBy(k => k.StartsWith(key, StringComparison.OrdinalIgnoreCase) || key.StartsWith(k, StringComparison.OrdinalIgnoreCase) ? 0 : 1)
                    .ThenBy(k => Distance(k.ToLowerInvariant(), key.ToLowerInvariant()))
                    .First();
                var fix = Distance(near.ToLowerInvariant(), key.ToLowerInvariant()) <= Math.Max(2, key.Length / 3)
                    ? $"did you mean '{near}'?"
                    : $"known keys here: {string.Join(", ", known)}";
                Error(keyNode, $"unknown key '{key}' in {what}", fix);
                continue;
            }
            result[key] = new Entry(scalar, value);
        }
        return result;
    }

    private List<YamlNode> Sequence(YamlNode node, string what)
    {
        if (node is YamlSequenceNode seq) return [.. seq.Children];
        Error(node, $"{what} must be a list", $"write {what} as a YAML list ('- item' lines or [a, b])");
        return [];
    }

    internal string? Scalar(YamlNode node, string what)
    {
        if (node is YamlScalarNode { Value: { } v } s && !IsNull(s)) return v;
        Error(node, $"expected {what} here", $"write {what} as a single value");
        return null;
    }

    private Located? RequiredString(Dictionary<string, Entry> map, YamlNode parent, string key, string what)
    {
        if (!map.TryGetValue(key, out var entry))
        {
            Error(parent, $"{what} has no '{key}'", $"add {key}:");
            return null;
        }
        var value = Scalar(entry.Value, $"a value for {key}");
        return value is null ? null : new Located(value, entry.Value);
    }

    internal int? Int(YamlNode node, string key, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Scalar(node, $"a number for {key}");
        if (text is null) return null;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            Error(node, $"{key} '{text}' is not a whole number", $"write a number from {min} to {max}");
            return null;
        }
        if (value < min || value > max)
        {
            Error(node, $"{key} {value} is out of range", $"use a value from {min} to {max}");
            return null;
        }
        return value;
    }

    internal bool? Bool(YamlNode node, string key)
    {
        var text = Scalar(node, $"true or false for {key}");
        switch (text)
        {
            case null: return null;
            case "true": return true;
            case "false": return false;
            default:
                Error(node, $"{key} '{text}' is not a boolean", "write true or false");
                return null;
        }
    }

    internal string? InterfaceName(YamlNode node, string key)
    {
        var text = Scalar(node, $"an interface name for {key}");
        if (text is null) return null;
        if (Names.IsInterfaceName(text)) return text;
        Error(node, $"{key} '{text}' is not a valid Linux interface name", "use 1-15 letters, digits, '_', '.' or '-'");
        return null;
    }

    private string? NullablePath(YamlNode node, string key)
    {
        if (node is YamlScalarNode s && IsNull(s)) return null;
        var text = Scalar(node, $"a path for {key}");
        if (text is null) return null;
        if (text.StartsWith('/') && !text.Contains("/../", StringComparison.Ordinal) && !text.EndsWith("/..", StringComparison.Ordinal) && text.All(c => !char.IsControl(c)))
            return text;
        Error(node, $"{key} '{text}' is not an absolute path", "write an absolute path (it may contain {host}), or null to not write the file");
        return null;
    }

    /// <summary>"etcd.tls.ca in c.yaml:7:9": the files are checked after the spec, and the error should point back here.</summary>
    private string TlsSource(Dictionary<string, Entry> map, string key) =>
        map.TryGetValue(key, out var e) ? $"etcd.tls.{key} in {file}:{e.Value.Start.Line}:{e.Value.Start.Column}" : $"etcd.tls.{key}";

    private string? OptionalPath(Dictionary<string, Entry> map, string key) => map.TryGetValue(key, out var e) ? NullablePath(e.Value, key) : null;

    private static bool IsNull(YamlScalarNode s) => s.Style == ScalarStyle.Plain && s.Value is "" or "~" or "null" or "Null" or "NULL";

    internal void Error(YamlNode node, string message, string fix) =>
        Errors.Add(new SpecError(file, (int)node.Start.Line, (int)node.Start.Column, message, fix));

    private static int Distance(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) d[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            var previous = d[0];
            d[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var temp = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), previous + (a[i - 1] == b[j - 1] ? 0 : 1));
                previous = temp;
            }
        }
        return d[b.Length];
    }
}
