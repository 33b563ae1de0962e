using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// scripts/release.sh's .deb, built from the native binary the tests run (scripts/test.sh publishes it and names it
/// in OVERLAYCTL_NATIVE), inspected as dpkg sees it and unpacked into a throwaway root, where the binary runs alone;
/// and its dotnet tool package, installed from its folder alone into a tool path of its own, where it runs.
/// </summary>
public sealed class ReleaseTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TheDebHoldsTheBinaryTheManPageAndTheCompletionAndItsBinaryRunsFromAThrowawayRoot()
    {
        var native = Environment.GetEnvironmentVariable("OVERLAYCTL_NATIVE");
        Assert.False(string.IsNullOrEmpty(native), "OVERLAYCTL_NATIVE is not set: run scripts/test.sh, or OVERLAYCTL_NATIVE=$(scripts/native.sh) dotnet test");
        var repo = Golden.RepoRoot();
        var build = CliProcess.Run(TimeSpan.FromMinutes(10), Path.Combine(repo, "scripts", "release.sh"), repo, null, "--binary", native, "--only", "deb", "--out", _dir.Combine("out"));
        Assert.True(build.ExitCode == 0, build.ToString());
        var deb = build.Stdout.Trim().Split('\n')[^1];
        Assert.Matches(@"/overlayctl_\d+\.\d+\.\d+_[a-z0-9]+\.deb$", deb);

        var info = CliProcess.Run("dpkg-deb", _dir.Path, null, "-I", deb);
        Assert.True(info.ExitCode == 0, info.ToString());
        foreach (var field in new[] { " Package: overlayctl\n", " Architecture: ", " Depends: libc6\n", " Description: one flat overlay network" })
            Assert.Contains(field, info.Stdout, StringComparison.Ordinal);

        var contents = CliProcess.Run("dpkg-deb", _dir.Path, null, "-c", deb);
        Assert.True(contents.ExitCode == 0, contents.ToString());
        var files = contents.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(files, f => f.StartsWith("-rwxr-xr-x root/root", StringComparison.Ordinal) && f.EndsWith(" ./usr/bin/overlayctl", StringComparison.Ordinal));
        foreach (var path in new[] { "./usr/share/man/man1/overlayctl.1.gz", "./usr/share/bash-completion/completions/overlayctl",
                     "./usr/share/zsh/vendor-completions/_overlayctl", "./usr/share/fish/vendor_completions.d/overlayctl.fish", "./usr/share/doc/overlayctl/cluster.yaml" })
            Assert.Contains(files, f => f.StartsWith("-rw-r--r-- root/root", StringComparison.Ordinal) && f.EndsWith(" " + path, StringComparison.Ordinal));

        var root = _dir.Combine("root");
        var unpack = CliProcess.Run("dpkg", _dir.Path, null, "-x", deb, root);
        Assert.True(unpack.ExitCode == 0, unpack.ToString());
        var version = CliProcess.Run(Path.Combine(root, "usr/bin/overlayctl"), _dir.Path, null, "--version");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout);
        Assert.Contains("_" + version.Stdout.Split('+')[0].Trim() + "_", deb, StringComparison.Ordinal);

        var man = CliProcess.Run("man", _dir.Path, new Dictionary<string, string> { ["MANWIDTH"] = "120", ["LANG"] = "C.UTF-8" }, "-l", Path.Combine(root, "usr/share/man/man1/overlayctl.1.gz"));
        Assert.True(man.ExitCode == 0, man.ToString());
        Assert.Contains("overlayctl plan", man.Stdout, StringComparison.Ordinal);
        var completion = File.ReadAllText(Path.Combine(root, "usr/share/bash-completion/completions/overlayctl"));
        Assert.Equal(Completion.CompletionScripts.For("bash"), completion);
        var template = Path.Combine(root, "usr/share/doc/overlayctl/cluster.yaml");
        var valid = CliProcess.Run(Path.Combine(root, "usr/bin/overlayctl"), _dir.Path, null, "validate", "-f", template);
        Assert.True(valid.ExitCode == 0, valid.ToString());
    }

    [Fact]
    public void TheDotnetToolPackageInstallsOfflineAndRuns()
    {
        var repo = Golden.RepoRoot();
        var feed = _dir.Combine("tool");
        var pack = CliProcess.Run(TimeSpan.FromMinutes(10), Path.Combine(repo, "scripts", "release.sh"), repo, null, "--only", "tool", "--out", feed);
        Assert.True(pack.ExitCode == 0, pack.ToString());
        var nupkg = pack.Stdout.Trim().Split('\n')[^1];
        Assert.Matches(@"/overlayctl\.\d+\.\d+\.\d+\.nupkg$", nupkg);

        // Installed from the package alone (the folder as its only source), into a tool path of its own.
        var tools = _dir.Combine("tools");
        var install = CliProcess.Run(TimeSpan.FromMinutes(5), "dotnet", _dir.Path, new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
            "tool", "install", "overlayctl", "--tool-path", tools, "--source", feed);
        Assert.True(install.ExitCode == 0, install.ToString());
        var version = CliProcess.Run(Path.Combine(tools, "overlayctl"), _dir.Path, null, "--version");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Contains("." + version.Stdout.Split('+')[0].Trim() + ".nupkg", nupkg, StringComparison.Ordinal);
    }
}
