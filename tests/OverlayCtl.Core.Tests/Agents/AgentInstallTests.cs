using OverlayCtl.Core.Agents;
using OverlayCtl.Testing;

namespace OverlayCtl.Core.Tests.Agents;

public sealed class AgentInstallTests
{
    private static readonly AgentLayout Layout = new("prod");

    private static readonly IReadOnlyList<string> EtcdArguments = ["--cacert", "/etc/overlayctl/prod/ca.pem", "--user", "agent", "--password-file", "/etc/overlayctl/prod/password"];

    private static List<WantedFile> Wanted(string spec = "name: prod\n") =>
    [
        new(AgentLayout.Binary, "755", new FileContent(new string('b', 64), 100, null, "/tmp/overlayctl")),
        new(Layout.Spec, "644", FileContent.OfText(spec)),
        new($"{Layout.Credentials}/ca.pem", "600", FileContent.OfText("CA"), Secret: true),
        new($"{Layout.Credentials}/password", "600", FileContent.OfText("hunter2\n"), Secret: true),
        new(Layout.Unit, "644", FileContent.OfText(AgentInstall.UnitFile(Layout, "node1", EtcdArguments))),
    ];

    private static readonly WantedFile Marker = new(Layout.BinaryMarker, "644", FileContent.OfText(""));

    /// <summary>What a host looks like after installing <paramref name="wanted"/>: every file (and the binary marker), enabled and running.</summary>
    private static InstalledState Installed(IEnumerable<WantedFile> wanted, bool marker = true) =>
        new(wanted.Concat(marker ? [Marker] : []).ToDictionary(w => w.Path, w => (w.Content.Sha256, w.Mode)), Enabled: true, Active: true);

    private static string Render(IEnumerable<InstallStep> steps) => string.Concat(steps.Select(s => s.Render() + "\n"));

    [Fact]
    public void TheUnitFileRunsTheAgentFromInstalledPathsRestartsAlwaysAndComesBeforeDocker() =>
        Golden.Match("OverlayCtl.Core.Tests", "agent-unit.txt", AgentInstall.UnitFile(Layout, "node1", EtcdArguments));

    [Fact]
    public void AFreshHostGetsEveryFileThenSystemdReloadsEnablesAndStartsTheAgent() =>
        Golden.Match("OverlayCtl.Core.Tests", "agent-install-fresh.txt", Render(AgentInstall.PlanInstall(Layout, Wanted(), InstalledState.Nothing)));

    [Fact]
    public void AHostThatHasItAllPlansNothing() =>
        Assert.Empty(AgentInstall.PlanInstall(Layout, Wanted(), Installed(Wanted())));

    [Fact]
    public void AChangedSpecIsWrittenAndTheAgentRestartedWithoutADaemonReload()
    {
        var steps = AgentInstall.PlanInstall(Layout, Wanted("name: prod\n# changed\n"), Installed(Wanted()));
        Assert.Equal(["~ /etc/overlayctl/prod.yaml", "run systemctl restart overlayctl-agent-prod.service"], steps.Select(s => s.Render().Split(" (")[0]));
    }

    [Fact]
    public void ASecretReadableByOthersIsWrittenAgainWithItsMode()
    {
        var observed = Installed(Wanted());
        var files = observed.Files.ToDictionary();
        files[$"{Layout.Credentials}/password"] = (files[$"{Layout.Credentials}/password"].Sha256, "644");
        var steps = AgentInstall.PlanInstall(Layout, Wanted(), observed with { Files = files });
        Assert.Equal(new PutFile(Wanted()[3], Exists: true), steps[0]);
    }

    [Fact]
    public void AStoppedAgentIsStartedAndADisabledOneEnabledWithNothingWritten()
    {
        var steps = AgentInstall.PlanInstall(Layout, Wanted(), Installed(Wanted()) with { Enabled = false, Active = false });
        Assert.Equal("run systemctl enable overlayctl-agent-prod.service\nrun systemctl start overlayctl-agent-prod.service\n", Render(steps));
    }

    [Fact]
    public void CredentialsNoLongerWantedAreRemoved()
    {
        var wanted = Wanted().Where(w => !w.Path.EndsWith("/password", StringComparison.Ordinal)).ToList();
        var steps = AgentInstall.PlanInstall(Layout, wanted, Installed(Wanted()));
        Assert.Contains(new RemovePath($"{Layout.Credentials}/password"), steps);
        Assert.Contains("run systemctl restart overlayctl-agent-prod.service", Render(steps), StringComparison.Ordinal);
    }

    [Fact]
    public void APlanNeverShowsASecret()
    {
        var rendered = Render(AgentInstall.PlanInstall(Layout, Wanted(), InstalledState.Nothing));
        Assert.DoesNotContain("hunter2", rendered, StringComparison.Ordinal);
        Assert.Contains("/etc/overlayctl/prod/password (mode 600, secret)", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void TheUnitFileRefusesAnArgumentSystemdWouldNotReadLiterally() =>
        Assert.Throws<ArgumentException>(() => AgentInstall.UnitFile(Layout, "node1", ["--user", "a b"]));

    [Fact]
    public void UninstallRemovesEverythingAndTheBinaryItInstalled() =>
        Golden.Match("OverlayCtl.Core.Tests", "agent-uninstall.txt", Render(AgentInstall.PlanUninstall(Layout, Installed(Wanted()))));

    [Fact]
    public void UninstallKeepsABinaryAnotherClustersAgentUses() =>
        Assert.DoesNotContain(new RemovePath(AgentLayout.Binary), AgentInstall.PlanUninstall(Layout, Installed(Wanted()) with { OtherBinaryMarkers = true }));

    [Fact]
    public void UninstallKeepsABinaryInstallDidNotWrite() =>
        Assert.DoesNotContain(new RemovePath(AgentLayout.Binary), AgentInstall.PlanUninstall(Layout, Installed(Wanted(), marker: false)));

    [Fact]
    public void AnIdenticalBinaryAnOperatorPutThereIsNotClaimed() =>
        Assert.Empty(AgentInstall.PlanInstall(Layout, Wanted(), Installed(Wanted(), marker: false)));

    [Fact]
    public void ABinaryInstallReplacesIsClaimedForUninstall()
    {
        var observed = Installed(Wanted().Where(w => w.Path != AgentLayout.Binary), marker: false);
        var files = observed.Files.ToDictionary();
        files[AgentLayout.Binary] = (new string('a', 64), "755");
        var written = AgentInstall.PlanInstall(Layout, Wanted(), observed with { Files = files }).OfType<PutFile>().Select(p => p.File.Path);
        Assert.Equal([AgentLayout.Binary, Layout.BinaryMarker], written);
    }

    [Fact]
    public void UninstallOnAHostWithoutTheAgentPlansNothing() =>
        Assert.Empty(AgentInstall.PlanUninstall(Layout, InstalledState.Nothing));

    [Fact]
    public void TheRoleReachesOnlyTheNetworksPrefix() =>
        Assert.Equal("etcdctl role grant-permission overlayctl-agent-prod readwrite --prefix=true /coreos.com/network/",
            AgentInstall.RoleCommands("prod", "/coreos.com/network", "agent")[1]);
}
