using System.CommandLine;
using OverlayCtl.Cli.Help;
using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>help TOPIC prints docs/ as written, every command's --help ends in examples that parse, and the man page is made of the same text and renders.</summary>
public sealed class HelpTests
{
    private static readonly Command Root = CommandLine.Build(TextWriter.Null, TextWriter.Null);

    [Theory]
    [InlineData("spec", "spec.md")]
    [InlineData("environment", "environment.md")]
    [InlineData("exit-codes", "exit-codes.md")]
    [InlineData("output", "output.md")]
    public async Task AHelpTopicPrintsItsPageOfTheDocsAsWritten(string topic, string page)
    {
        var run = await CliRun.RunAsync("help", topic);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(File.ReadAllText(Path.Combine(Golden.RepoRoot(), "docs", page)), run.Stdout);
    }

    [Fact]
    public async Task TheBackendsTopicIsTheBackendsSectionOfTheSpecPage()
    {
        var run = await CliRun.RunAsync("help", "backends");
        Assert.StartsWith("## Backends\n", run.Stdout, StringComparison.Ordinal);
        foreach (var backend in new[] { "vxlan", "ovs", "host-gw", "wireguard" }) Assert.Contains($"| `{backend}` |", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("### WireGuard", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("## The lab", run.Stdout, StringComparison.Ordinal);
        Assert.Contains(run.Stdout, File.ReadAllText(Path.Combine(Golden.RepoRoot(), "docs", "spec.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpWithACommandPrintsThatCommandsHelpAndAnUnknownOneIsOneLine()
    {
        var viaHelp = await CliRun.RunAsync("help", "leases", "list");
        var viaFlag = await CliRun.RunAsync("leases", "list", "--help");
        Assert.Equal(viaFlag.Stdout, viaHelp.Stdout);
        Assert.Contains("Examples:", viaHelp.Stdout, StringComparison.Ordinal);
        var index = await CliRun.RunAsync("help");
        foreach (var topic in HelpTopics.All) Assert.Contains("  " + topic.Name + " ", index.Stdout, StringComparison.Ordinal);
        var unknown = await CliRun.RunAsync("help", "nosuch");
        Assert.Equal(ExitCodes.Error, unknown.ExitCode);
        Assert.Equal("overlayctl: no help topic or command 'nosuch' (fix: overlayctl help TOPIC, with TOPIC one of spec, backends, environment, exit-codes, output, or overlayctl help COMMAND)\n", unknown.Stderr);
    }

    [Fact]
    public void EveryCommandHasExamplesThatParseAndEveryExampleBelongsToACommand()
    {
        var paths = CommandPath.All(Root).Select(c => c.Path).ToHashSet();
        Assert.Equal([], paths.Where(p => Examples.For(p).Count == 0).ToList());
        Assert.Equal([], Examples.ByCommand.Keys.Where(k => k.Length > 0 && !paths.Contains(k)).ToList());
        foreach (var (path, examples) in Examples.ByCommand)
            foreach (var example in examples.Where(e => !e.CommandLine.Contains('<') && !e.CommandLine.Contains('>')))
            {
                var words = example.CommandLine.Split(' ').SkipWhile(w => w.Contains('=', StringComparison.Ordinal)).ToList();
                Assert.Equal("overlayctl", words[0]);
                var parse = Root.Parse(words.Skip(1).ToList());
                Assert.True(parse.Errors.Count == 0, $"{example.CommandLine}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
                Assert.StartsWith(path, CommandPath.Of(parse.CommandResult.Command), StringComparison.Ordinal);
            }
    }

    [Theory]
    [InlineData("plan", "ip route replace 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink proto 211")]
    [InlineData("apply", "node3  10.244.3.0/24  changed")]
    [InlineData("doctor", "✗ node2 [ip-forward] net.ipv4.ip_forward is 0")]
    public async Task PlanApplyAndDoctorHelpEndInARealExampleWithWhatItPrints(string command, string printed)
    {
        var run = await CliRun.RunAsync(command, "--help");
        var examples = run.Stdout[run.Stdout.IndexOf("\nExamples:\n", StringComparison.Ordinal)..];
        Assert.Contains($"  overlayctl {command} -f cluster.yaml", examples, StringComparison.Ordinal);
        Assert.Contains(printed, examples, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheManPageRendersWithoutWarningsAndHoldsEveryCommandTheEnvironmentAndTheExitCodes()
    {
        using var dir = new TempDir();
        var run = await CliRun.RunAsync("manpage");
        Assert.True(run.ExitCode == 0, run.ToString());
        File.WriteAllText(dir.Combine("overlayctl.1"), run.Stdout);
        Assert.StartsWith(".TH OVERLAYCTL 1 ", run.Stdout, StringComparison.Ordinal);
        var groff = CliProcess.Run("groff", dir.Path, null, "-man", "-Tutf8", "-ww", "-z", dir.Combine("overlayctl.1"));
        Assert.True(groff.ExitCode == 0 && groff.Stderr.Length == 0, groff.ToString());
        var man = CliProcess.Run("man", dir.Path, new Dictionary<string, string> { ["MANWIDTH"] = "200", ["LANG"] = "C.UTF-8" }, "-l", dir.Combine("overlayctl.1"));
        Assert.True(man.ExitCode == 0, man.ToString());
        var text = man.Stdout;
        foreach (var section in new[] { "NAME", "SYNOPSIS", "COMMANDS", "GLOBAL OPTIONS", "EXAMPLES", "ENVIRONMENT", "EXIT STATUS", "FILES" })
            Assert.Contains("\n" + section + "\n", text, StringComparison.Ordinal);
        foreach (var (path, _) in CommandPath.All(Root)) Assert.Contains("overlayctl " + path, text, StringComparison.Ordinal);
        Assert.Contains("OVERLAYCTL_SPEC", text, StringComparison.Ordinal);
        Assert.Contains("ETCDCTL_ENDPOINTS", text, StringComparison.Ordinal);
        Assert.Contains("130", text, StringComparison.Ordinal);
        Assert.Contains("--parallel N", text, StringComparison.Ordinal);
        Assert.Contains("✗ node2 [ip-forward]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("manpage", text, StringComparison.Ordinal);
        Assert.DoesNotContain("__complete", text, StringComparison.Ordinal);
    }
}
