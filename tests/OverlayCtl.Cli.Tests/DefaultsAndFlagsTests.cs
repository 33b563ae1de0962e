using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Defaults an operator with kubectl and etcdctl habits expects: the spec found as KUBECONFIG is, the environment
/// outranking the spec's etcd settings, and counts that cannot mean anything refused in one line.
/// </summary>
public sealed class DefaultsAndFlagsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public DefaultsAndFlagsTests()
    {
        var sample = Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml");
        Directory.CreateDirectory(_dir.Combine("here"));
        File.Copy(sample, _dir.Combine("here/cluster.yaml"));
        File.Copy(sample, _dir.Combine("other.yaml"));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TheSpecIsTheFlagThenTheVariableThenClusterYamlInTheWorkingDirectory()
    {
        var env = new Dictionary<string, string> { ["OVERLAYCTL_SPEC"] = "/env/spec.yaml" };
        Assert.Equal("/flag.yaml", SpecFile.Find("/flag.yaml", env.GetValueOrDefault, _ => true));
        Assert.Equal("/env/spec.yaml", SpecFile.Find(null, env.GetValueOrDefault, _ => true));
        Assert.Equal("cluster.yaml", SpecFile.Find(null, _ => null, name => name == "cluster.yaml"));
        Assert.Equal("cluster.yaml", SpecFile.Find(null, _ => "", name => name == "cluster.yaml"));
        Assert.Null(SpecFile.Find(null, _ => null, _ => false));
    }

    [Fact]
    public void WithNoFlagValidateReadsClusterYamlInTheWorkingDirectory()
    {
        var run = CliProcess.Overlayctl(_dir.Combine("here"), null, "validate");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith("cluster.yaml: valid.", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void TheVariableOutranksClusterYamlAndTheFlagOutranksTheVariable()
    {
        var env = new Dictionary<string, string> { ["OVERLAYCTL_SPEC"] = _dir.Combine("other.yaml") };
        var fromVariable = CliProcess.Overlayctl(_dir.Combine("here"), env, "validate");
        Assert.True(fromVariable.ExitCode == 0, fromVariable.ToString());
        Assert.StartsWith(_dir.Combine("other.yaml") + ": valid.", fromVariable.Stdout, StringComparison.Ordinal);
        var fromFlag = CliProcess.Overlayctl(_dir.Combine("here"), env, "validate", "-f", "cluster.yaml");
        Assert.StartsWith("cluster.yaml: valid.", fromFlag.Stdout, StringComparison.Ordinal);
        // A variable naming a missing file is reported as such, never replaced by ./cluster.yaml.
        var missing = CliProcess.Overlayctl(_dir.Combine("here"), new Dictionary<string, string> { ["OVERLAYCTL_SPEC"] = "/nonexistent.yaml" }, "validate");
        Assert.Equal(ExitCodes.Error, missing.ExitCode);
        Assert.Contains("/nonexistent.yaml: no such file", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void WithNoSpecAnywhereTheErrorNamesTheFlagTheVariableAndClusterYamlInOneLine()
    {
        var run = CliProcess.Overlayctl(_dir.Path, null, "plan");
        Assert.Equal(ExitCodes.Error, run.ExitCode);
        Assert.Equal(
            "overlayctl: no cluster spec: -f was not given, $OVERLAYCTL_SPEC is not set and there is no ./cluster.yaml (fix: pass -f SPEC, export OVERLAYCTL_SPEC=SPEC, or run in the directory holding cluster.yaml)\n",
            run.Stderr);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public async Task AParallelCountBelowOneIsRefusedInOneLineBeforeTheSpecIsRead(string count)
    {
        foreach (var command in new[] { "plan", "apply", "status", "verify", "doctor" })
        {
            var run = await CliRun.RunAsync(command, "-f", "/nonexistent.yaml", "--parallel", count);
            Assert.True(run.ExitCode == ExitCodes.Error, run.ToString());
            Assert.Equal($"overlayctl: --parallel {count}: drives no host (fix: give a count of at least 1, e.g. --parallel 1 for one host at a time)\n", run.Stderr);
            Assert.Equal("", run.Stdout);
        }
    }
}
