using System.CommandLine;
using OverlayCtl.Cli.Completion;
using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Completion offers what the binary has: commands and flags from the command tree, files after -f, the spec's hosts
/// after --limit and as doctor's argument. The bash script is sourced in a real bash and its function driven as bash
/// drives it; fish answers its own <c>complete -C</c>.
/// </summary>
public sealed class CompletionTests : IDisposable
{
    private static readonly Command Root = CommandLine.Build(TextWriter.Null, TextWriter.Null);
    private static readonly string[] Hosts = ["node1", "node2", "node3"];
    private readonly TempDir _dir = new();

    public CompletionTests()
    {
        File.Copy(Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml"), _dir.Combine("cluster.yaml"));
        Directory.CreateDirectory(_dir.Combine("bin"));
        // The scripts call "overlayctl" from PATH, as they will once installed.
        File.WriteAllText(_dir.Combine("bin/overlayctl"), $"#!/bin/sh\nexec '{CliProcess.Binary}' \"$@\"\n");
        Sh.Must("chmod", "700", _dir.Combine("bin/overlayctl"));
    }

    public void Dispose() => _dir.Dispose();

    private static IReadOnlyList<string> Complete(params string[] words) => Completer.Complete(Root, words, _ => Hosts);

    [Fact]
    public void CommandsAndFlagsComeFromTheCommandTreeAndHiddenOnesAreNeverOffered()
    {
        Assert.Equal(["plan"], Complete("pl"));
        Assert.Equal(["allocate", "list", "release", "gc"], Complete("leases", ""));
        Assert.Contains("completion", Complete(""));
        Assert.DoesNotContain("__complete", Complete(""));
        Assert.DoesNotContain("manpage", Complete(""));
        Assert.Equal(["--limit", "--lock-timeout", "--log-level", "--log-file"], Complete("apply", "--l"));
        Assert.Contains("--endpoints", Complete("leases", "list", "--"));
        Assert.Contains("--prefix", Complete("leases", "list", "--"));
        Assert.Equal(["json"], Complete("status", "-o", "j"));
        Assert.Equal(["--output=yaml"], Complete("status", "--output=y"));
        Assert.Equal(["debug"], Complete("--log-level", "d"));
    }

    [Fact]
    public void FilesAfterFileOptionsAndHostsAfterLimitHostAndAsDoctorsArgument()
    {
        Assert.Equal([Completer.Files], Complete("plan", "-f", ""));
        Assert.Equal([Completer.Files], Complete("plan", "--log-file", "x"));
        Assert.Equal([Completer.Files], Complete("apply", "-f", "c.yaml", ""));
        Assert.Equal(Hosts, Complete("plan", "--limit", ""));
        Assert.Equal(["node1,node2", "node1,node3"], Complete("plan", "--limit", "node1,"));
        Assert.Equal(Hosts, Complete("doctor", ""));
        Assert.Equal(["node2"], Complete("doctor", "-f", "c.yaml", "node2"));
        Assert.Equal(["node3"], Complete("agent", "--host", "node3"));
        Assert.Empty(Complete("doctor", "node1", ""));
        Assert.Empty(Complete("plan", "--parallel", ""));
    }

    [Fact]
    public void TheHostsComeFromTheSpecNamedByDashFOrFoundAsEveryCommandFindsIt()
    {
        string? asked = "unset";
        Completer.Complete(Root, ["plan", "-f", "/x/c.yaml", "--limit", ""], spec => { asked = spec; return []; });
        Assert.Equal("/x/c.yaml", asked);
        Completer.Complete(Root, ["doctor", ""], spec => { asked = spec; return []; });
        Assert.Null(asked);
    }

    [Fact]
    public void TheBashScriptSourcedInARealBashCompletesCommandsFlagsFilesAndTheSpecsHosts()
    {
        var script = """
            set -e
            source <(overlayctl completion bash)
            complete -p overlayctl
            try() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=(); _overlayctl; echo "$* => ${COMPREPLY[*]}"; }
            try overlayctl pl
            try overlayctl leases l
            try overlayctl plan --li
            try overlayctl plan --limit ''
            try overlayctl plan --limit node1,
            try overlayctl doctor ''
            try overlayctl doctor -f cluster.yaml node
            try overlayctl plan -f clus
            try overlayctl status -o j
            try overlayctl plan -f nosuch.yaml --limit ''
            """;
        var run = CliProcess.Run("bash", _dir.Path, new Dictionary<string, string> { ["PATH"] = _dir.Combine("bin") + ":" + Environment.GetEnvironmentVariable("PATH") }, "-c", script);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("""
            complete -F _overlayctl overlayctl
            overlayctl pl => plan
            overlayctl leases l => list
            overlayctl plan --li => --limit
            overlayctl plan --limit  => node1 node2 node3
            overlayctl plan --limit node1, => node1,node2 node1,node3
            overlayctl doctor  => node1 node2 node3
            overlayctl doctor -f cluster.yaml node => node1 node2 node3
            overlayctl plan -f clus => cluster.yaml
            overlayctl status -o j => json
            overlayctl plan -f nosuch.yaml --limit  => 

            """, run.Stdout);
    }

    [Fact]
    public void FishCompletesFromItsScriptAndZshReadsItsScript()
    {
        var env = new Dictionary<string, string> { ["PATH"] = _dir.Combine("bin") + ":" + Environment.GetEnvironmentVariable("PATH") };
        File.WriteAllText(_dir.Combine("overlayctl.zsh"), CompletionScripts.For("zsh"));
        var zsh = CliProcess.Run("zsh", _dir.Path, env, "-n", _dir.Combine("overlayctl.zsh"));
        Assert.True(zsh.ExitCode == 0, zsh.ToString());
        var fish = CliProcess.Run("fish", _dir.Path, env, "--no-config", "-c", "overlayctl completion fish | source; complete -C 'overlayctl pl'; complete -C 'overlayctl doctor '");
        Assert.True(fish.ExitCode == 0, fish.ToString());
        Assert.Equal("plan\nnode1\nnode2\nnode3\n", fish.Stdout);
    }

    [Fact]
    public async Task AnUnknownShellIsOneLine()
    {
        var run = await CliRun.RunAsync("completion", "tcsh");
        Assert.Equal(ExitCodes.Error, run.ExitCode);
        Assert.Equal("overlayctl: no completion for the shell 'tcsh' (fix: overlayctl completion bash|zsh|fish)\n", run.Stderr);
    }
}
