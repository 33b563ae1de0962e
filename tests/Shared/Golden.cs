namespace OverlayCtl.Testing;

/// <summary>
/// Compares text with a checked-in golden file, so a change to what operators and scripts read is a
/// visible diff in review. OVERLAYCTL_UPDATE_GOLDEN=1 rewrites the files instead.
/// </summary>
public static class Golden
{
    /// <summary>The repository root, found from the test binary's folder.</summary>
    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "OverlayCtl.sln"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }

    /// <summary>Matches <paramref name="actual"/> against tests/PROJECT/Golden/NAME.</summary>
    public static void Match(string project, string name, string actual)
    {
        var path = Path.Combine(RepoRoot(), "tests", project, "Golden", name);
        if (Environment.GetEnvironmentVariable("OVERLAYCTL_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"no golden file {path}; run with OVERLAYCTL_UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), actual);
    }
}
