using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// <c>--password-file</c> against an etcd with auth on, as an installed agent reads its password: the user limited
/// to the network's prefix by the role <c>agent install</c> prints.
/// </summary>
public sealed class PasswordFileOnEtcdTests : IAsyncLifetime
{
    private const string Prefix = "/pwfile/network";
    private EtcdCluster _etcd = null!;
    private readonly TempDir _dir = new();

    public async Task InitializeAsync()
    {
        _etcd = await EtcdCluster.StartAsync(1);
        _etcd.Etcdctl(null, "user", "add", "root:r00t-pw");
        _etcd.Etcdctl(null, "user", "add", "agent:agent:pw");
        foreach (var command in Core.Agents.AgentInstall.RoleCommands("pwfile", Prefix, "agent"))
            _etcd.Etcdctl(null, [.. command.Split(' ').Skip(1)]);
        _etcd.Etcdctl(null, "auth", "enable");
        File.WriteAllText(_dir.Combine("cluster.yaml"), $"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: pwfile
            etcd:
              endpoints: [{_etcd.ClientUrl}]
              prefix: {Prefix}
            network:
              cidr: 10.213.0.0/16
            hosts:
              - name: n1
                address: 198.18.82.11
            """);
    }

    public Task DisposeAsync()
    {
        _etcd.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ThePasswordInAFileAuthenticatesTheAgentsUserWithinItsPrefix()
    {
        File.WriteAllText(_dir.Combine("password"), "agent:pw\n");
        var allocated = await CliRun.RunAsync("leases", "allocate", "-f", _dir.Combine("cluster.yaml"), "--user", "agent", "--password-file", _dir.Combine("password"), "-o", "json");
        Assert.True(allocated.ExitCode == 0, allocated.ToString());
        Assert.Single(allocated.Json().GetProperty("leases").EnumerateArray());
        // The role reaches the prefix and nothing else.
        var outside = Assert.Throws<InvalidOperationException>(() => _etcd.Etcdctl("agent:agent:pw", "get", "/other/key"));
        Assert.Contains("permission denied", outside.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongPasswordInAFileIsRefusedWithoutShowingIt()
    {
        File.WriteAllText(_dir.Combine("wrong"), "not-the-pw\n");
        var result = await CliRun.RunAsync("leases", "list", "-f", _dir.Combine("cluster.yaml"), "--user", "agent", "--password-file", _dir.Combine("wrong"));
        Assert.True(result.ExitCode == ExitCodes.StoreUnavailable, result.ToString());
        Assert.DoesNotContain("not-the-pw", result.ToString(), StringComparison.Ordinal);
    }
}
