using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Docker;

/// <summary>daemon.json: the operator's original kept once and given back by destroy; ambiguous files refused by name.</summary>
public sealed class DockerFilesTests
{
    private const string Path = "/etc/docker/daemon.json";
    private const string Original = "{\n  // the operator's own\n  \"log-driver\": \"journald\",\n  \"mtu\": 9000\n}\n";
    private static readonly string Applied = DockerFiles.MergeDaemonConfig(Path, Original, Ipv4Cidr.Parse("10.244.1.0/24"), 1450, ipMasq: true)!;

    [Fact]
    public void DestroyGivesBackTheOriginalByteForByteWhenNothingElseChanged() =>
        Assert.Equal(Original, DockerFiles.RestoreDaemonConfig(Path, Applied, Original));

    [Fact]
    public void DestroyKeepsKeysChangedSinceAndPutsBackTheOriginalValuesOfOurs()
    {
        var edited = Applied.Replace("journald", "json-file", StringComparison.Ordinal);
        var restored = DockerFiles.RestoreDaemonConfig(Path, edited, Original)!;
        Assert.Contains("\"log-driver\": \"json-file\"", restored, StringComparison.Ordinal);
        Assert.Contains("\"mtu\": 9000", restored, StringComparison.Ordinal);
        Assert.DoesNotContain("bip", restored, StringComparison.Ordinal);
        Assert.DoesNotContain("ip-masq", restored, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyBackupSaysOverlayctlCreatedTheFile()
    {
        var created = DockerFiles.MergeDaemonConfig(Path, null, Ipv4Cidr.Parse("10.244.1.0/24"), 1450, true);
        Assert.Equal("", DockerFiles.RestoreDaemonConfig(Path, created, ""));
        Assert.Equal("{\n  \"debug\": true\n}\n", DockerFiles.RestoreDaemonConfig(Path, created!.Replace("{", "{ \"debug\": true,", StringComparison.Ordinal), ""));
        Assert.Null(DockerFiles.RestoreDaemonConfig(Path, null, ""));
    }

    [Fact]
    public void WithoutABackupDestroyRemovesOnlyOurKeysOrTheFileItMade()
    {
        Assert.Equal("", DockerFiles.RestoreDaemonConfig(Path, DockerFiles.MergeDaemonConfig(Path, null, Ipv4Cidr.Parse("10.244.1.0/24"), 1450, true), null));
        Assert.Null(DockerFiles.RestoreDaemonConfig(Path, "{ \"log-driver\": \"journald\" }", null));
        Assert.Null(DockerFiles.RestoreDaemonConfig(Path, null, null));
    }

    [Fact]
    public void ADuplicateKeyIsRefusedNamingTheFileAndTheKey()
    {
        var e = Assert.Throws<PlanningException>(() => DockerFiles.MergeDaemonConfig(Path, "{ \"bip\": \"10.1.0.1/24\", \"log-opts\": { \"max-size\": \"1m\", \"max-size\": \"2m\" } }", Ipv4Cidr.Parse("10.244.1.0/24"), 1450, true));
        Assert.Equal("/etc/docker/daemon.json has the key 'log-opts.max-size' twice, and which one Docker uses is not certain; remove one by hand (overlayctl never rewrites an operator's file it cannot read unambiguously)", e.Message);
    }

    [Fact]
    public void TheFirstWriteKeepsTheOriginalAndLaterOnesDoNot()
    {
        var spec = Lab.Spec();
        var daemon = "/run/lab/node1/daemon.json";
        var first = Planner.PlanApply(Lab.Input(spec, Lab.Fresh() with { Files = new Dictionary<string, string?> { [daemon] = Original } }, 2));
        var step = Assert.IsType<FileStep>(first.Operations.Single(o => o.Address == ResourceAddress.File(daemon)).Steps.Single());
        Assert.Equal(daemon + ".overlayctl.bak", step.Backup);
        Assert.EndsWith(", original kept as /run/lab/node1/daemon.json.overlayctl.bak", step.Render(), StringComparison.Ordinal);

        var later = Planner.PlanApply(Lab.Input(spec, Lab.Fresh() with { Files = new Dictionary<string, string?> { [daemon] = Original, [daemon + ".overlayctl.bak"] = "{}" } }, 2));
        Assert.Null(Assert.IsType<FileStep>(later.Operations.Single(o => o.Address == ResourceAddress.File(daemon)).Steps.Single()).Backup);
        var created = Planner.PlanApply(Lab.Input(spec, Lab.Fresh(), 2));
        Assert.Equal(daemon + ".overlayctl.bak", Assert.IsType<FileStep>(created.Operations.Single(o => o.Address == ResourceAddress.File(daemon)).Steps.Single()).Backup);
    }

    [Fact]
    public void AFileAnEarlierVersionWroteForTheOverlayGetsNoBackup()
    {
        var spec = Lab.Spec();
        var daemon = "/run/lab/node1/daemon.json";
        var earlier = DockerFiles.MergeDaemonConfig(daemon, null, Ipv4Cidr.Parse("10.244.1.0/24"), 1400, true);
        var plan = Planner.PlanApply(Lab.Input(spec, Lab.Fresh() with { Files = new Dictionary<string, string?> { [daemon] = earlier } }, 2));
        Assert.Null(Assert.IsType<FileStep>(plan.Operations.Single(o => o.Address == ResourceAddress.File(daemon)).Steps.Single()).Backup);
        Assert.False(DockerFiles.WrittenForOverlay(daemon, "{ \"bip\": \"172.17.0.1/16\" }", spec.Network.Cidr));
    }

    [Fact]
    public void DestroyRestoresFromTheBackupAndThenRemovesIt()
    {
        var spec = Lab.Spec();
        var daemon = "/run/lab/node1/daemon.json";
        var converged = Lab.Converged(spec, 2);
        var observed = converged with { Files = new Dictionary<string, string?>(converged.Files) { [daemon] = Applied, [daemon + ".overlayctl.bak"] = Original } };
        var plan = Planner.PlanDestroy(spec, spec.Hosts[0], Lab.LeaseOf(spec, 1), observed);
        var files = plan.Operations.Where(o => o.Address.Kind == ResourceKind.File).ToList();
        Assert.Equal([(ChangeKind.Change, daemon), (ChangeKind.Remove, daemon + ".overlayctl.bak"), (ChangeKind.Remove, "/run/lab/node1/subnet.env")], files.Select(o => (o.Kind, o.Address.Name)));
        Assert.Equal(Original, Assert.IsType<FileStep>(files[0].Steps.Single()).Content);
    }
}
