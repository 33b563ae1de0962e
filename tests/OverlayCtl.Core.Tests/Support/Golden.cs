namespace OverlayCtl.Core.Tests.Support;

/// <summary>
/// Compares text with a checked-in golden file, so a change to what operators read is a visible
/// diff in review. OVERLAYCTL_UPDATE_GOLDEN=1 rewrites the files instead.
/// </summary>
internal static class Golden
{
    public static void Match(string name, string actual)
    {
        var path = Path.Combine(Spec.SpecLoaderTests.RepoRoot(), "tests", "OverlayCtl.Core.Tests", "Golden", name + ".txt");
        if (Environment.GetEnvironmentVariable("OVERLAYCTL_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"no golden file {path}; run with OVERLAYCTL_UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), actual);
    }
}
