using OverlayCtl.Cli.Commands;
using OverlayCtl.Cli.Output;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Tests;

/// <summary>What scripts and people read: help text and the JSON/YAML shapes of every command, pinned.</summary>
public sealed class OutputContractTests
{
    [Theory]
    [InlineData("root", new string[0])]
    [InlineData("plan", new[] { "plan" })]
    [InlineData("apply", new[] { "apply" })]
    [InlineData("destroy", new[] { "destroy" })]
    [InlineData("leases", new[] { "leases" })]
    [InlineData("status", new[] { "status" })]
    [InlineData("verify", new[] { "verify" })]
    [InlineData("doctor", new[] { "doctor" })]
    [InlineData("lab", new[] { "lab" })]
    [InlineData("agent", new[] { "agent" })]
    [InlineData("agent-install", new[] { "agent", "install" })]
    [InlineData("agent-uninstall", new[] { "agent", "uninstall" })]
    public async Task HelpTextIsPinned(string name, string[] command)
    {
        var result = await CliRun.RunAsync([.. command, "--help"]);
        Assert.Equal(0, result.ExitCode);
        // Under the test host the executable is "testhost"; operators see "overlayctl".
        Golden.Match("OverlayCtl.Cli.Tests", $"help-{name}.txt", result.Stdout.Replace("testhost", "overlayctl", StringComparison.Ordinal));
    }

    private static readonly IReadOnlyList<HostReport> Hosts =
    [
        new HostReport("node1", "10.244.1.0/24", false, "changed", null, 1, 1, 1, 1, [
            new OperationReport("replace", "link", "link flannel.1", "id 1", "id 2",
                "ip link del flannel.1\nip link add flannel.1 address 9a:0d:ac:e0:ff:33 mtu 1450 type vxlan id 2 dev eth0 local 192.0.2.11 dstport 8472 nolearning"),
            new OperationReport("add", "route", "route 10.244.2.0/24", null, null, "ip route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink proto 211"),
            new OperationReport("change", "file", "file /etc/docker/daemon.json", "mtu 1400", "mtu 1450", "write /etc/docker/daemon.json (61 bytes)"),
            new OperationReport("remove", "route", "route 10.244.3.0/24", null, null, "ip route del 10.244.3.0/24 dev flannel.1"),
        ], ["docker0 kept: veth1234 is attached to it (a container?); stop what uses it and run again, or destroy --force deletes it anyway"],
            new DockerRestart("10.244.1.1/24", "systemctl restart docker", true)),
        new HostReport("node2", null, false, "failed", "node2: `ip -j -d link show` exited 255: ssh: connect to host node2 port 22: Connection refused", 0, 0, 0, 0, [], [], null),
    ];

    [Fact]
    public void ConvergeReportShapeIsPinned()
    {
        var report = new ConvergeReport(Hosts);
        Golden.Match("OverlayCtl.Cli.Tests", "converge.json", Render(OutputFormat.Json, report, ConvergeJsonContext.Default.ConvergeReport));
        Golden.Match("OverlayCtl.Cli.Tests", "converge.yaml", Render(OutputFormat.Yaml, report, ConvergeJsonContext.Default.ConvergeReport));
    }

    [Fact]
    public void ThePlanDocumentShapeIsPinned()
    {
        var plan = new PlanDocument(PlanDocument.CurrentFormat, new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero),
            new PlannedSpec("/etc/overlayctl/cluster.yaml", "3f1c0c2b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"),
            new PlannedEtcd(42, "sha256:0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"),
            [Hosts[0] with { Fingerprint = "sha256:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b" }, Hosts[1] with { Subnet = "10.244.2.0/24", Provisional = true }]);
        Golden.Match("OverlayCtl.Cli.Tests", "plan.json", Render(OutputFormat.Json, plan, ConvergeJsonContext.Default.PlanDocument));
    }

    [Fact]
    public void StatusVerifyDoctorAndLeaseShapesArePinned()
    {
        Golden.Match("OverlayCtl.Cli.Tests", "status.json", Render(OutputFormat.Json, new StatusReport([
            new HostStatus("node1", "10.244.1.0/24", "vxlan", "9a:0d:ac:e0:ff:33", "up", 2, 2, true, "ok", true, "in sync", 0, [], true, "converged", null)
            {
                Agent = new AgentStatus("running", new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero), 57, null),
            },
            new HostStatus("node2", "10.244.2.0/24", "vxlan", "6e:9a:db:69:95:4f", "wrong-mac", 0, 2, false, "drift", false, "differ", 4,
                ["-/+ link flannel.1", "+ route 10.244.1.0/24", "~ iptables filter FORWARD jump", "~ file /etc/docker/daemon.json"], true, "drift", null),
            new HostStatus("node3", null, "vxlan", null, null, null, null, false, "unknown", false, "unknown", null, [], false, "unknown", "holds no lease (run overlayctl apply or leases allocate)"),
        ]), StatusJsonContext.Default.StatusReport));
        Golden.Match("OverlayCtl.Cli.Tests", "verify.json", Render(OutputFormat.Json, new VerifyReport(false, null, [
            new VerifyHost("node1", "10.244.1.254", 1450, null),
            new VerifyHost("node2", "10.244.2.254", 1450, null),
            new VerifyHost("node3", null, null, "the docker bridge docker0 does not exist: containers on this host have no network"),
        ], [
            new VerifyPair("node1", "node2", "10.244.2.254", 1450, true, true, true, null, new VerifyTcp(4350, 4350), true, []),
            new VerifyPair("node2", "node1", "10.244.1.254", 1450, false, false, null, null, null, true,
                ["node2 [ip-forward] net.ipv4.ip_forward is 0: the host does not route between the overlay and its containers"]),
        ]), VerifyJsonContext.Default.VerifyReport));
        Golden.Match("OverlayCtl.Cli.Tests", "doctor.json", Render(OutputFormat.Json, new DoctorReport(["node1"], ["ip-forward", "forward-policy"], [
            new DoctorFinding("ip-forward", "node1", "error", "net.ipv4.ip_forward is 0: the host does not route between the overlay and its containers", "sysctl -w net.ipv4.ip_forward=1 (overlayctl apply sets it)"),
        ]), DoctorJsonContext.Default.DoctorReport));
        Golden.Match("OverlayCtl.Cli.Tests", "leases.json", Render(OutputFormat.Json, new LeaseList([
            new LeaseRow("10.244.1.0/24", "192.0.2.11", "vxlan", "9a:0d:ac:e0:ff:33", 1, null, null, "node1", null),
            new LeaseRow("10.244.77.0/24", "192.0.2.99", "host-gw", null, null, null, null, null, 7587868296543414787),
            new LeaseRow("10.244.78.0/24", "192.0.2.12", "wireguard", null, null, "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWX/0=", 51820, "node2", null),
        ], [
            new UnreadableRow("/coreos.com/network/subnets/10.244.9.0-24", "10.244.9.0/24", "the value is a JSON array, not flannel's lease object"),
        ]), LeasesJsonContext.Default.LeaseList));
    }

    /// <summary>
    /// A dual-stack vxlan cluster's status: each host's flannel-v6 state as device6 in JSON and YAML and a DEVICE6 column
    /// in the table; an IPv4-only report has neither (status.json above stays as it was).
    /// </summary>
    [Fact]
    public void DualStackStatusShowsTheIPv6DeviceBesideTheIPv4One()
    {
        var report = new StatusReport([
            new HostStatus("node1", "10.244.1.0/24", "vxlan", "9a:0d:ac:e0:ff:33", "up", 2, 2, true, "ok", true, "in sync", 0, [], true, "converged", null) { Device6 = "up" },
            new HostStatus("node2", "10.244.2.0/24", "vxlan", "6e:9a:db:69:95:4f", "up", 2, 2, true, "ok", true, "in sync", 3,
                ["+ link flannel-v6.1", "+ address fd00:10:244:2::/128 on flannel-v6.1", "+ link flannel-v6.1 up"], true, "drift", null) { Device6 = "missing" },
            new HostStatus("node3", null, "vxlan", null, null, null, null, false, "unknown", false, "unknown", null, [], false, "unknown", "holds no lease (run overlayctl apply or leases allocate)"),
        ]);
        Golden.Match("OverlayCtl.Cli.Tests", "status-dual-stack.json", Render(OutputFormat.Json, report, StatusJsonContext.Default.StatusReport));
        Golden.Match("OverlayCtl.Cli.Tests", "status-dual-stack.yaml", Render(OutputFormat.Yaml, report, StatusJsonContext.Default.StatusReport));
        Golden.Match("OverlayCtl.Cli.Tests", "status-dual-stack.txt", StatusCommand.Human(report, wide: false));
        var ipv4 = StatusCommand.Human(new StatusReport([report.Hosts[0] with { Device6 = null }]), wide: false);
        Assert.DoesNotContain("DEVICE6", ipv4, StringComparison.Ordinal);
        Assert.StartsWith("HOST   SUBNET         BACKEND  DEVICE  PEERS", ipv4, StringComparison.Ordinal);
    }

    [Fact]
    public void TheAgentInstallShapeIsPinned() =>
        Golden.Match("OverlayCtl.Cli.Tests", "agent-install.json", Render(OutputFormat.Json, new InstallResult(false, [
            new InstallHostResult("node1", ["+ /etc/overlayctl/prod/password (mode 600, secret)", "run systemctl restart overlayctl-agent-prod.service"], "done", null),
            new InstallHostResult("node2", [], "unchanged", null),
            new InstallHostResult("node3", [], "failed", "node3: `sh -c ...` exited 255: ssh: connect to host node3 port 22: Connection refused"),
        ], ["etcdctl role add overlayctl-agent-prod"]), AgentInstallJsonContext.Default.InstallResult));

    /// <summary>validate on a dual-stack spec: the resolved IPv6 overlay and each host's address6 and pinned subnet6, in JSON and in the table.</summary>
    [Fact]
    public async Task ValidateShowsADualStackSpecsIPv6Half()
    {
        var dir = Directory.CreateTempSubdirectory("overlayctl-validate-").FullName;
        try
        {
            var spec = Path.Combine(dir, "dual.yaml");
            File.WriteAllText(spec, """
                apiVersion: overlayctl/v1
                kind: Cluster
                name: dual
                network:
                  cidr: 10.190.0.0/16
                  ipv6: { cidr: "fd00:10:190::/48" }
                hosts:
                  - name: n1
                    address: 198.18.190.11
                    address6: "fd00:198:18:190::11"
                    subnet6: "fd00:10:190:7::/64"
                    connection: netns://dr6-n1
                  - name: n2
                    address: 198.18.190.12
                    address6: "fd00:198:18:190::12"
                    connection: netns://dr6-n2
                """);
            var json = await CliRun.RunAsync("validate", "-f", spec, "-o", "json");
            Assert.True(json.ExitCode == 0, json.ToString());
            var v6 = json.Json().GetProperty("ipv6");
            Assert.Equal("fd00:10:190::/48 64 fd00:10:190:1:: fd00:10:190:ffff::",
                $"{v6.GetProperty("network").GetString()} {v6.GetProperty("subnetLength").GetInt32()} {v6.GetProperty("subnetMin").GetString()} {v6.GetProperty("subnetMax").GetString()}");
            var n1 = json.Json().GetProperty("hosts")[0];
            Assert.Equal(("fd00:198:18:190::11", "fd00:10:190:7::/64"), (n1.GetProperty("address6").GetString(), n1.GetProperty("subnet6").GetString()));
            Assert.False(json.Json().GetProperty("hosts")[1].TryGetProperty("subnet6", out _));
            var table = await CliRun.RunAsync("validate", "-f", spec);
            Assert.True(table.ExitCode == 0, table.ToString());
            Assert.Contains("IPv6 fd00:10:190::/48 in /64 subnets fd00:10:190:1::..fd00:10:190:ffff::, backend vxlan", table.Stdout, StringComparison.Ordinal);
            Assert.Contains("n1    198.18.190.11  fd00:198:18:190::11", table.Stdout, StringComparison.Ordinal);
            // An IPv4-only spec has no IPv6 key at all.
            var ipv4 = await CliRun.RunAsync("validate", "-f", Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml"), "-o", "json");
            Assert.False(ipv4.Json().TryGetProperty("ipv6", out _), ipv4.Stdout);
            Assert.DoesNotContain("address6", ipv4.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>validate's document through the real command: -o yaml reads back, with PyYAML, as -o json.</summary>
    [Fact]
    public async Task ValidateYamlReadsBackAsItsJson()
    {
        var spec = Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml");
        var json = await CliRun.RunAsync("validate", "-f", spec, "-o", "json");
        var yaml = await CliRun.RunAsync("validate", "-f", spec, "-o", "yaml");
        Assert.True(json.ExitCode == 0 && yaml.ExitCode == 0, json + "\n" + yaml);
        PyYaml.AssertReadsAsJson(json.Stdout, yaml.Stdout);
    }

    /// <summary>
    /// Strings a YAML 1.1 reader (PyYAML, Ansible) or a YAML 1.2 one would take for another type when
    /// written plain, beside ones that must stay plain; pinned, and read back by PyYAML as the JSON says.
    /// </summary>
    [Fact]
    public void YamlQuotesWhatAReaderWouldTurnIntoAnotherType()
    {
        string[] values =
        [
            "52:54:00:12:34:56", "9a:0d:ac:e0:ff:33", "12:30", "1:20.5", "yes", "No", "ON", "off", "y", "N", "true", "False",
            "~", "null", "NULL", "", "0777", "0o17", "0x1F", "0b101", "1_000", "+1", "-2", "1e3", "1.5", ".5", "1.", ".inf", "-.Inf", ".NaN",
            "2026-11-29", "2026-11-29T12:00:00Z", "2026-11-29 12:00:00.5 +01:00", "<<", "=",
            "- item", "a: b", "#comment", "a #b", "key:", "@at", "`tick", "!tag", "&anchor", "*alias", "|", ">", "%", "'single'", "\"double\"",
            " lead", "trail ", "two\nlines", "tab\there", "bell\u0007", "ünïcode", "10.244.1.0/24", "192.0.2.11", "flannel.1", "node1", "1.2.3", "v1.2",
        ];
        var document = new System.Text.Json.Nodes.JsonObject
        {
            ["values"] = new System.Text.Json.Nodes.JsonArray([.. values.Select(v => (System.Text.Json.Nodes.JsonNode?)v)]),
            ["keys"] = new System.Text.Json.Nodes.JsonObject(values.Where(v => v.Length > 0).Distinct().Select(v => KeyValuePair.Create(v, (System.Text.Json.Nodes.JsonNode?)1))),
            ["number"] = 7587868296543414787,
            ["fraction"] = 0.25,
            ["flag"] = false,
            ["nothing"] = null,
            ["emptyList"] = new System.Text.Json.Nodes.JsonArray(),
            ["emptyMap"] = new System.Text.Json.Nodes.JsonObject(),
            ["nested"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonArray("a", "b"), new System.Text.Json.Nodes.JsonObject { ["c"] = "yes" }),
        };
        var yaml = YamlWriter.Write(document);
        PyYaml.AssertReadsAsJson(document.ToJsonString(), yaml);
        Golden.Match("OverlayCtl.Cli.Tests", "yaml-quoting.yaml", yaml);
    }

    /// <summary>
    /// Renders <paramref name="value"/> in <paramref name="format"/>; every JSON document is also written
    /// as -o yaml would write it and read back by PyYAML, which must see the same document.
    /// </summary>
    private static string Render<T>(OutputFormat format, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        using var text = new StringWriter();
        new OutputWriter(text, format).Write(value, type, _ => "");
        if (format == OutputFormat.Json)
        {
            using var yaml = new StringWriter();
            new OutputWriter(yaml, OutputFormat.Yaml).Write(value, type, _ => "");
            PyYaml.AssertReadsAsJson(text.ToString(), yaml.ToString());
        }
        return text.ToString();
    }
}
