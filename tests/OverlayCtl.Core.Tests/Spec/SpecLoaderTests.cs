using OverlayCtl.Core.Backends.Vxlan;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Tests.Spec;

public sealed class SpecLoaderTests
{
    private const string Good = """
        apiVersion: overlayctl/v1
        kind: Cluster
        name: lab
        etcd:
          endpoints: [http://127.0.0.1:2379, http://127.0.0.1:22379]
          prefix: /coreos.com/network
        network:
          cidr: 10.244.0.0/16
          backend: vxlan
        docker:
          daemonConfig: /run/x/{host}/daemon.json
          subnetEnv: null
        hosts:
          - name: node1
            address: 192.0.2.1
            interface: eth0
            subnet: 10.244.5.0/24
            connection: netns://ovl-node1
          - name: node2
            address: 192.0.2.2
            connection: ssh://ops@node2.example:2222
            sshKey: /root/.ssh/id_ed25519
          - name: node3
            address: 192.0.2.3
        """;

    [Fact]
    public void AFullSpecParsesWithFlannelDefaults()
    {
        var spec = SpecLoader.Parse(Good, "c.yaml");
        Assert.Equal("lab", spec.Name);
        Assert.Equal(2, spec.Etcd.Endpoints.Count);
        Assert.Equal(24, spec.Network.SubnetLength);
        Assert.Equal("10.244.1.0", spec.Network.SubnetMin.ToString());
        Assert.Equal("10.244.255.0", spec.Network.SubnetMax.ToString());
        Assert.Equal(new VxlanSettings(1, 8472, false), VxlanBackend.SettingsOf(spec));
        Assert.True(spec.Network.IpMasq);
        Assert.Null(spec.Network.Mtu);
        Assert.Equal("docker0", spec.Docker.Bridge);
        Assert.Null(spec.Docker.SubnetEnv);
        Assert.Equal("/run/x/node1/daemon.json", spec.Docker.DaemonConfigFor(spec.Hosts[0]));
        Assert.Equal(new HostConnection.Netns("ovl-node1"), spec.Hosts[0].Connection);
        Assert.Equal(new HostConnection.Ssh("ops", "node2.example", 2222, "/root/.ssh/id_ed25519"), spec.Hosts[1].Connection);
        Assert.Equal(new HostConnection.Local(), spec.Hosts[2].Connection);
        Assert.Equal(Ipv4Cidr.Parse("10.244.5.0/24"), spec.Hosts[0].Subnet);
    }

    [Theory]
    [InlineData("10.0.0.0/22", 24)]
    [InlineData("10.0.0.0/24", 26)]
    [InlineData("10.0.0.0/8", 24)]
    public void SubnetLengthDefaultsAsFlannelDoes(string cidr, int expected)
    {
        var spec = SpecLoader.Parse(Minimal(cidr), "c.yaml");
        Assert.Equal(expected, spec.Network.SubnetLength);
    }

    [Theory]
    [InlineData("  cidr: 10.244.0.1/16", "c.yaml:5:9: '10.244.0.1/16' has host bits set (fix: write 10.244.0.0/16)")]
    [InlineData("  cidr: 10.244.0.0/16\n  subnetLen: 24", "c.yaml:6:3: unknown key 'subnetLen' in network (fix: did you mean 'subnetLength'?)")]
    [InlineData("  cidr: 10.244.0.0/16\n  subnetLength: 12", "c.yaml:6:17: subnetLength 12 does not fit the network 10.244.0.0/16 (fix: use a length from 17 to 30)")]
    [InlineData("  cidr: 10.244.0.0/16\n  subnetMin: 10.244.1.7", "c.yaml:6:14: subnetMin 10.244.1.7 is not aligned to /24 (fix: use 10.244.1.0)")]
    [InlineData("  cidr: 10.244.0.0/16\n  subnetMax: 10.245.0.0", "c.yaml:6:14: subnetMax 10.245.0.0 is outside the network 10.244.0.0/16 (fix: use an address inside 10.244.0.0/16)")]
    [InlineData("  cidr: 10.244.0.0/16\n  mtu: 70000", "c.yaml:6:8: mtu 70000 is out of range (fix: use a value from 576 to 9000)")]
    [InlineData("  cidr: 10.244.0.0/16\n  backend: geneve", "c.yaml:6:12: backend 'geneve' is not known (fix: use vxlan, ovs, host-gw or wireguard)")]
    [InlineData("  cidr: 10.244.0.0/16\n  backend: ovs\n  ovs: { bridge: docker0 }", "c.yaml:7:18: docker0 cannot be both docker.bridge and network.ovs.bridge (fix: give the OVS bridge a name of its own (default br-overlay))")]
    [InlineData("  cidr: 10.244.0.0/16\n  backend: ovs\n  ovs: { db: /run/ovs.sock }", "c.yaml:7:14: '/run/ovs.sock' is not an OVS database address (fix: write unix:/path/to/db.sock or tcp:HOST:PORT)")]
    [InlineData("  cidr: banana", "c.yaml:5:9: 'banana' is not an IPv4 network (fix: write a.b.c.d/n, e.g. 10.244.0.0/16)")]
    public void NetworkErrorsAreLocatedWithTheFix(string network, string expected)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(Minimal(null, network), "c.yaml"));
        Assert.Equal(expected, Assert.Single(e.Errors).ToString());
    }

    [Theory]
    [InlineData("vxlan", "flannel.1", "c.yaml:8:11: docker.bridge flannel.1 is the vxlan backend's device: the two would fight over one interface (fix: give the docker bridge a name of its own (default docker0))")]
    [InlineData("host-gw", "flannel.1", "c.yaml:8:11: docker.bridge flannel.1 is the vxlan backend's device: the two would fight over one interface (fix: give the docker bridge a name of its own (default docker0))")]
    [InlineData("vxlan", "flannel-wg", "c.yaml:8:11: docker.bridge flannel-wg is the wireguard backend's device: the two would fight over one interface (fix: give the docker bridge a name of its own (default docker0))")]
    [InlineData("wireguard", "flannel-wg", "c.yaml:8:11: docker.bridge flannel-wg is the wireguard backend's device: the two would fight over one interface (fix: give the docker bridge a name of its own (default docker0))")]
    [InlineData("vxlan", "br-overlay", "c.yaml:8:11: br-overlay cannot be both docker.bridge and network.ovs.bridge (fix: give the OVS bridge a name of its own (default br-overlay))")]
    public void ADockerBridgeNamedAsABackendsDeviceIsRefusedAtItsName(string backend, string bridge, string expected)
    {
        var yaml = $"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: t
            network:
              cidr: 10.244.0.0/16
              backend: {backend}
            docker:
              bridge: {bridge}
            hosts:
              - name: a
                address: 192.0.2.1
            """;
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "c.yaml"));
        Assert.Equal(expected, Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void ADockerBridgeNamedAsAnotherVnisDeviceIsAccepted() =>
        Assert.Equal("flannel.2", SpecLoader.Parse(Minimal(null, null).Replace("hosts:", "docker:\n  bridge: flannel.2\nhosts:", StringComparison.Ordinal), "c.yaml").Docker.Bridge);

    [Theory]
    [InlineData("  - name: a\n    address: 192.0.2.1\n  - name: a\n    address: 192.0.2.2", "c.yaml:9:11: host name 'a' is used twice (first at line 7) (fix: give every host its own name)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n  - name: b\n    address: 192.0.2.1", "c.yaml:10:14: address 192.0.2.1 is used by hosts a and b (fix: give every host its own underlay address)")]
    [InlineData("  - name: a\n    address: 10.244.3.3", "c.yaml:8:14: address 10.244.3.3 of host a lies inside the overlay 10.244.0.0/16 (fix: use the host's underlay (public) address, outside the overlay network)")]
    [InlineData("  - name: Node_1\n    address: 192.0.2.1", "c.yaml:7:11: host name 'Node_1' is not safe as a namespace or interface name (fix: use 1-15 lower-case letters, digits or '-', starting and ending with a letter or digit)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    subnet: 10.244.5.0/25", "c.yaml:9:13: subnet 10.244.5.0/25 of host a is a /25, but host subnets are /24 (fix: use a /24)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    subnet: 10.244.5.1/24", "c.yaml:9:13: subnet '10.244.5.1/24' of host a is not an aligned IPv4 network (fix: write 10.244.5.0/24)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    subnet: 10.244.0.0/24", "c.yaml:9:13: subnet 10.244.0.0/24 of host a is outside the lease range 10.244.1.0-10.244.255.0 (fix: pick a subnet inside [subnetMin, subnetMax], or widen the range)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    subnet: 10.244.5.0/24\n  - name: b\n    address: 192.0.2.2\n    subnet: 10.244.5.0/24", "c.yaml:12:13: subnet 10.244.5.0/24 of host b overlaps 10.244.5.0/24 of host a (line 9) (fix: give each host its own subnet)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    interface: eth0:1", "c.yaml:9:16: interface 'eth0:1' is not a valid Linux interface name (fix: use 1-15 letters, digits, '_', '.' or '-')")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    connection: ssh://-oProxyCommand=sh@x", "c.yaml:9:17: 'ssh://-oProxyCommand=sh@x' has an unsafe user or host (fix: use letters, digits, '.', '_' and '-' (not starting with '-'))")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    connection: ssh://0777", "c.yaml:9:17: 'ssh://0777' names host '0777', a numeric shorthand that ssh resolves to 0.0.1.255 (fix: write the address in full, four decimal parts without leading zeros (ssh://0.0.1.255), or the host's name)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    connection: ssh://ops@10.1:2222", "c.yaml:9:17: 'ssh://ops@10.1:2222' names host '10.1', a numeric shorthand that ssh resolves to 10.0.0.1 (fix: write the address in full, four decimal parts without leading zeros (ssh://ops@10.0.0.1), or the host's name)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    connection: ssh://ops@web1?become=yes", "c.yaml:9:17: 'ssh://ops@web1?become=yes' has an unknown option 'become=yes' (fix: the one option is sudo: ssh://user@host?sudo=true runs every command through sudo -n)")]
    [InlineData("  - name: a\n    address: 192.0.2.1\n    connection: netns://../etc", "c.yaml:9:17: '../etc' is not a safe namespace name (fix: use letters, digits, '_', '.' or '-')")]
    [InlineData("  - name: a\n    adress: 192.0.2.1", "c.yaml:7:5: host a has no 'address' (fix: add address:)")]
    public void HostErrorsAreLocatedWithTheFix(string hosts, string expected)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(Minimal(null, null, hosts), "c.yaml"));
        Assert.Contains(expected, e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void EveryProblemIsReportedInOnePassInFileOrder()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(Minimal("10.244.0.1/16", null, "  - name: A\n    address: 192.0.2.1\n    colour: red"), "c.yaml"));
        Assert.Equal([5, 7, 9], e.Errors.Select(x => x.Line));
    }

    [Fact]
    public void AYamlSyntaxErrorIsLocated()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse("name: [unclosed\nhosts: x\n", "bad.yaml"));
        Assert.Equal("bad.yaml:1:7: not valid YAML: this [list] or {mapping} is never closed (fix: close every '[' and '{', or use block style ('- item' lines))", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void AMissingFileIsAnErrorAboutTheFileWithoutAMadeUpLocation()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load("/nonexistent/overlayctl.yaml"));
        Assert.Equal("/nonexistent/overlayctl.yaml: no such file (fix: pass the path of the cluster spec, a YAML file, with -f)", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void ADirectoryIsNamedAsOne()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load("/etc"));
        Assert.Equal("/etc: is a directory, not a file (fix: pass the path of the cluster spec, a YAML file, with -f)", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void AnEmptyPathIsRefused()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Load(""));
        Assert.StartsWith("'': empty path", Assert.Single(e.Errors).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(20_000)]
    [InlineData(100_000)]
    public void DeepNestingIsRefusedAtItsLocationBeforeATreeIsBuilt(int depth)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse("name: " + new string('[', depth), "deep.yaml"));
        Assert.Equal($"deep.yaml:1:{6 + SpecLoader.MaxDepth}: lists and mappings are nested more than {SpecLoader.MaxDepth} deep here (fix: a spec nests four levels at most; check the brackets and indentation)", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void DeepBlockNestingIsRefusedToo()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse("hosts:\n" + string.Concat(Enumerable.Repeat("- ", 1000)) + "x\n", "deep.yaml"));
        Assert.Equal(2, Assert.Single(e.Errors).Line);
    }

    [Fact]
    public void ASecondDocumentIsRefusedAtItsStart()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse("a:\n  - b\n---\n: : :\n", "r.yaml"));
        Assert.Equal("r.yaml:3:1: a second YAML document starts here; a spec is one document (fix: remove this '---' and what follows, or put each cluster in a file of its own)", Assert.Single(e.Errors).ToString());
    }

    [Theory]
    [InlineData("? &a [*a]\n: 1\n", 1, 3, "a key here is a list, a mapping or an alias")]
    [InlineData("? [a, b]\n: 1\n", 1, 3, "a key here is a list, a mapping or an alias")]
    [InlineData("name: a\nname: b\n", 2, 1, "not valid YAML: Duplicate key")]
    [InlineData(": : :\n", 1, 3, "not valid YAML: Mapping values are not allowed in this context.")]
    public void YamlThatBreaksTheTreeBuilderIsLocated(string yaml, int line, int column, string message)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(yaml, "y.yaml"));
        var error = Assert.Single(e.Errors);
        Assert.Equal((line, column), (error.Line, error.Column));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEndpointWithCredentialsIsRefusedWithoutEchoingThePassword()
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(Minimal(null).Replace("network:", "etcd:\n  endpoints: [http://root:hunter2@h:2379]\nnetwork:", StringComparison.Ordinal), "c.yaml"));
        Assert.Equal("c.yaml:5:15: the etcd endpoint http://h:2379 carries credentials (fix: remove them; use --user, or OVERLAYCTL_USER and OVERLAYCTL_PASSWORD)", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void TlsPathsRememberTheSpecLineTheyCameFrom()
    {
        var spec = SpecLoader.Parse(Minimal(null).Replace("network:", "etcd:\n  tls: { ca: /etc/ca.pem }\nnetwork:", StringComparison.Ordinal), "c.yaml");
        Assert.Equal("etcd.tls.ca in c.yaml:5:14", spec.Etcd.Tls!.CaSource);
        Assert.Equal("etcd.tls.cert", spec.Etcd.Tls.CertSource);
    }

    [Fact]
    public void TheSamplesAreValid()
    {
        var samples = Path.Combine(Golden.RepoRoot(), "samples");
        var files = Directory.GetFiles(samples, "*.yaml");
        Assert.NotEmpty(files);
        foreach (var file in files) SpecLoader.Load(file);
    }


    private static string Minimal(string? cidr, string? network = null, string? hosts = null) => $"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: t
        network:
        {network ?? $"  cidr: {cidr ?? "10.244.0.0/16"}"}
        hosts:
        {hosts ?? "  - name: a\n    address: 192.0.2.1"}
        """;

    [Theory]
    [InlineData("0777", "0.0.1.255")]
    [InlineData("10.1", "10.0.0.1")]
    [InlineData("10.1.2", "10.1.0.2")]
    [InlineData("0x7f.1", "127.0.0.1")]
    [InlineData("010.0.0.1", "8.0.0.1")]
    [InlineData("3232235777", "192.168.1.1")]
    [InlineData("192.0.2.11", null)]
    [InlineData("0.0.0.0", null)]
    [InlineData("web1", null)]
    [InlineData("node2.example", null)]
    [InlineData("1.2.3.4.5", null)]
    [InlineData("256.1.1.1", null)]
    [InlineData("08.1.1.1", null)]
    public void NumericShorthandsAreReadAsInetAtonReadsThem(string host, string? expected) =>
        Assert.Equal(expected, Names.NumericShorthand(host));

    [Fact]
    public void SudoIsAnOptionOfTheSshConnection()
    {
        var spec = SpecLoader.Parse(Minimal(null, null, "  - name: a\n    address: 192.0.2.1\n    connection: ssh://ops@web1:2222?sudo=true"), "c.yaml");
        var ssh = Assert.IsType<HostConnection.Ssh>(spec.Hosts[0].Connection);
        Assert.Equal(("ops", "web1", 2222, true), (ssh.User, ssh.Host, ssh.Port, ssh.Sudo));
        Assert.Equal("ssh://ops@web1:2222?sudo=true", ssh.ToString());
        Assert.False(Assert.IsType<HostConnection.Ssh>(SpecLoader.Parse(Good, "c.yaml").Hosts[1].Connection).Sudo);
    }
}
