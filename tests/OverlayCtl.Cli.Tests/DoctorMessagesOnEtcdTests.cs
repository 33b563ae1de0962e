using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>doctor's message for a host that holds no lease, against a real etcd with none: no host is touched.</summary>
[Collection(EtcdCollection.Name)]
public sealed class DoctorMessagesOnEtcdTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("overlayctl-doctor-").FullName;
    private readonly string _spec;

    public DoctorMessagesOnEtcdTests(EtcdFixture etcd)
    {
        _spec = Path.Combine(_dir, "cluster.yaml");
        File.WriteAllText(_spec, $"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: doctor
            etcd:
              endpoints: [{etcd.Cluster.ClientUrl}]
              prefix: {EtcdFixture.UniquePrefix()}
            network:
              cidr: 10.213.0.0/16
            hosts:
              - name: n1
                address: 198.18.160.11
            """);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AHostWithoutALeaseIsToldSoWithHowToGetOne()
    {
        var run = await CliRun.RunAsync("doctor", "-f", _spec, "n1", "-o", "json");
        Assert.True(run.ExitCode == 5, run.ToString());
        var finding = Assert.Single(run.Json().GetProperty("findings").EnumerateArray());
        Assert.Equal("leases", finding.GetProperty("check").GetString());
        Assert.Equal("holds no lease: it has no subnet yet, so nothing on it can be checked", finding.GetProperty("problem").GetString());
        Assert.Equal($"run overlayctl apply -f {_spec} (it leases every spec host and converges it), or overlayctl leases allocate -f {_spec} to lease only", finding.GetProperty("fix").GetString());
    }
}
