using OverlayCtl.Core;
using OverlayCtl.Core.Spec;
using OverlayCtl.Etcd;

namespace OverlayCtl.Cli.Tests;

public sealed class EtcdSettingsTests
{
    private static readonly ClusterSpec Spec = SpecLoader.Parse("""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: t
        etcd:
          endpoints: [http://10.0.0.1:2379]
          tls: { ca: /spec/ca.pem, cert: /spec/c.pem, key: /spec/k.pem }
        network:
          cidr: 10.244.0.0/16
        hosts:
          - name: a
            address: 192.0.2.1
        """, "c.yaml");

    private static EtcdClientOptions Resolve(string[] args, ClusterSpec? spec = null, Dictionary<string, string>? environment = null)
    {
        var parse = CommandLine.Build(TextWriter.Null, TextWriter.Null).Parse(["leases", "list", .. args]);
        return EtcdSettings.Resolve(parse, spec, name => environment?.GetValueOrDefault(name));
    }

    [Fact]
    public void EndpointsComeFromTheFlagThenTheEnvironmentThenTheSpec()
    {
        var env = new Dictionary<string, string> { ["OVERLAYCTL_ENDPOINTS"] = "http://10.0.0.3:2379", ["ETCDCTL_ENDPOINTS"] = "http://10.0.0.4:2379" };
        Assert.Equal("http://10.0.0.2:2379/", Resolve(["--endpoints", "10.0.0.2:2379"], Spec, env).Endpoints.Single().ToString());
        Assert.Equal("http://10.0.0.3:2379/", Resolve([], Spec, env).Endpoints.Single().ToString());
        Assert.Equal("http://10.0.0.4:2379/", Resolve([], Spec, new() { ["ETCDCTL_ENDPOINTS"] = "http://10.0.0.4:2379" }).Endpoints.Single().ToString());
        Assert.Equal("http://10.0.0.1:2379/", Resolve([], Spec, new() { ["ETCDCTL_ENDPOINTS"] = "" }).Endpoints.Single().ToString());
        Assert.Equal("http://10.0.0.1:2379/", Resolve([], Spec).Endpoints.Single().ToString());
        Assert.Equal("http://10.0.0.3:2379/", Resolve([], null, env).Endpoints.Single().ToString());
        Assert.Equal("http://127.0.0.1:2379/", Resolve([]).Endpoints.Single().ToString());
    }

    [Fact]
    public void EveryEtcdSettingReadsOverlayctlsVariableBeforeEtcdctlsAndBothBeforeTheSpec()
    {
        var both = new Dictionary<string, string>
        {
            ["OVERLAYCTL_CACERT"] = "/o/ca.pem", ["ETCDCTL_CACERT"] = "/e/ca.pem",
            ["OVERLAYCTL_CERT"] = "/o/c.pem", ["ETCDCTL_CERT"] = "/e/c.pem",
            ["OVERLAYCTL_KEY"] = "/o/k.pem", ["ETCDCTL_KEY"] = "/e/k.pem",
            ["OVERLAYCTL_DIAL_TIMEOUT"] = "3s", ["ETCDCTL_DIAL_TIMEOUT"] = "4s",
            ["OVERLAYCTL_COMMAND_TIMEOUT"] = "7s", ["ETCDCTL_COMMAND_TIMEOUT"] = "8s",
        };
        var o = Resolve([], Spec, both);
        Assert.Equal(("/o/ca.pem", "$OVERLAYCTL_CACERT"), (o.Tls!.Ca, o.Tls.CaSource));
        Assert.Equal(("/o/c.pem", "$OVERLAYCTL_CERT"), (o.Tls.Cert, o.Tls.CertSource));
        Assert.Equal(("/o/k.pem", "$OVERLAYCTL_KEY"), (o.Tls.Key, o.Tls.KeySource));
        Assert.Equal((TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(7)), (o.DialTimeout, o.CommandTimeout));
        var etcdctl = Resolve([], Spec, both.Where(p => p.Key.StartsWith("ETCDCTL_", StringComparison.Ordinal)).ToDictionary());
        Assert.Equal(("/e/ca.pem", "/e/c.pem", "/e/k.pem"), (etcdctl.Tls!.Ca, etcdctl.Tls.Cert, etcdctl.Tls.Key));
        Assert.Equal((TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)), (etcdctl.DialTimeout, etcdctl.CommandTimeout));
        var flags = Resolve(["--cacert", "/f/ca.pem", "--dial-timeout", "1s", "--command-timeout", "2s"], Spec, both);
        Assert.Equal(("/f/ca.pem", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), (flags.Tls!.Ca, flags.DialTimeout, flags.CommandTimeout));
        var e = Assert.Throws<InputException>(() => Resolve([], null, new() { ["OVERLAYCTL_DIAL_TIMEOUT"] = "soon" }));
        Assert.StartsWith("$OVERLAYCTL_DIAL_TIMEOUT 'soon' is not a duration", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEndpointWithCredentialsInTheEnvironmentIsRefusedWithoutThePassword()
    {
        var e = Assert.Throws<InputException>(() => Resolve([], null, new() { ["ETCDCTL_ENDPOINTS"] = "http://root:hunter2@10.0.0.4:2379" }));
        Assert.StartsWith("$ETCDCTL_ENDPOINTS: the endpoint http://10.0.0.4:2379 carries credentials", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TlsPathsComeFromTheFlagThenTheEnvironmentThenTheSpecEachNamingItsSource()
    {
        var tls = Resolve(["--cacert", "/flag/ca.pem"], Spec, new() { ["ETCDCTL_CACERT"] = "/env/ca.pem", ["ETCDCTL_CERT"] = "/env/c.pem" }).Tls!;
        Assert.Equal(("/flag/ca.pem", "--cacert"), (tls.Ca, tls.CaSource));
        Assert.Equal(("/env/c.pem", "$ETCDCTL_CERT"), (tls.Cert, tls.CertSource));
        Assert.Equal(("/spec/k.pem", "etcd.tls.key in c.yaml:6:52"), (tls.Key, tls.KeySource));
        Assert.Null(Resolve([]).Tls);
    }

    [Fact]
    public void TheUserComesFromTheFlagAsEtcdctlReadsItWithThePasswordFromTheEnvironment()
    {
        var env = new Dictionary<string, string> { ["OVERLAYCTL_USER"] = "envuser", ["ETCDCTL_PASSWORD"] = "etcdctl-pw" };
        Assert.Equal(("root", "pw:with:colons"), Pick(Resolve(["--user", "root:pw:with:colons"], null, env)));
        Assert.Equal(("root", "etcdctl-pw"), Pick(Resolve(["--user", "root"], null, env)));
        Assert.Equal(("envuser", "etcdctl-pw"), Pick(Resolve([], null, env)));
        Assert.Equal(("bob", "b"), Pick(Resolve([], null, new() { ["ETCDCTL_USER"] = "bob:b", ["OVERLAYCTL_PASSWORD"] = "ignored" })));
        Assert.Equal(("envuser", "o"), Pick(Resolve([], null, new() { ["OVERLAYCTL_USER"] = "envuser", ["OVERLAYCTL_PASSWORD"] = "o", ["ETCDCTL_PASSWORD"] = "e" })));
        Assert.Equal((null, null), Pick(Resolve([])));
        Assert.Throws<InputException>(() => Resolve(["--user", ":pw"]));
    }

    [Fact]
    public void APasswordFileGivesTheFirstLineAsThePasswordColonsIncluded()
    {
        using var dir = new OverlayCtl.Testing.TempDir();
        File.WriteAllText(dir.Combine("pw"), "pw:with:colons\nsecond line\n");
        var env = new Dictionary<string, string> { ["OVERLAYCTL_PASSWORD"] = "env-pw" };
        Assert.Equal(("agent", "pw:with:colons"), Pick(Resolve(["--user", "agent", "--password-file", dir.Combine("pw")], null, env)));
        Assert.Equal(("envuser", "pw:with:colons"), Pick(Resolve(["--password-file", dir.Combine("pw")], null, new() { ["OVERLAYCTL_USER"] = "envuser" })));
    }

    [Theory]
    [InlineData("--user", "agent:inline", "carries a password and --password-file names another")]
    [InlineData("--no-color", "", "no etcd user")]
    public void APasswordFileWithAnotherPasswordOrNoUserIsRefused(string flag, string value, string expected)
    {
        using var dir = new OverlayCtl.Testing.TempDir();
        File.WriteAllText(dir.Combine("pw"), "file-pw\n");
        string[] args = value.Length == 0 ? [flag] : [flag, value];
        var e = Assert.Throws<InputException>(() => Resolve([.. args, "--password-file", dir.Combine("pw")]));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("file-pw", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", "no such file")]
    [InlineData("fifo", "FIFO")]
    [InlineData("empty", "first line is empty")]
    public void APasswordFileThatCannotBeReadSaysWhyAndHowToFix(string name, string expected)
    {
        using var dir = new OverlayCtl.Testing.TempDir();
        File.WriteAllText(dir.Combine("empty"), "\n");
        var e = Assert.Throws<InputException>(() => Resolve(["--user", "agent", "--password-file", dir.Combine(name)]));
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("fix:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TimeoutsTakeEtcdctlDurationsFromTheFlagThenTheEnvironment()
    {
        var defaults = Resolve([]);
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)), (defaults.DialTimeout, defaults.CommandTimeout));
        var env = new Dictionary<string, string> { ["ETCDCTL_DIAL_TIMEOUT"] = "3s", ["ETCDCTL_COMMAND_TIMEOUT"] = "1m" };
        var fromEnv = Resolve([], null, env);
        Assert.Equal((TimeSpan.FromSeconds(3), TimeSpan.FromMinutes(1)), (fromEnv.DialTimeout, fromEnv.CommandTimeout));
        Assert.Equal(TimeSpan.FromMilliseconds(500), Resolve(["--dial-timeout", "500ms"], null, env).DialTimeout);
        Assert.StartsWith("$ETCDCTL_DIAL_TIMEOUT 'soon' is not a duration", Assert.Throws<InputException>(() => Resolve([], null, new() { ["ETCDCTL_DIAL_TIMEOUT"] = "soon" })).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2s", 2_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("1h", 3_600_000)]
    public void DurationsAreReadAsGoWritesThem(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), GoDuration.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("2")]
    [InlineData("0s")]
    [InlineData("-1s")]
    [InlineData("2 s")]
    [InlineData("s")]
    [InlineData("1d")]
    public void DurationsEtcdctlRefusesAreRefused(string text) => Assert.Null(GoDuration.Parse(text));

    private static (string? User, string? Password) Pick(EtcdClientOptions options) => (options.User, options.Password);
}
