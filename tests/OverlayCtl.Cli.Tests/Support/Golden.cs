namespace OverlayCtl.Cli.Tests.Support;

/// <summary>
/// Compares output with a checked-in golden file: help text and JSON shapes are contracts, and a
/// change to them is a visible diff in review. OVERLAYCTL_UPDATE_GOLDEN=1 rewrites the files.
/// </summary>
internal static class Golden
{
    public static void Match(string name, string actual)
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "OverlayCtl.sln"))) dir = Path.GetDirectoryName(dir)!;
        var path = Path.Combine(dir, "tests", "OverlayCtl.Cli.Tests", "Golden", name);
        if (Environment.GetEnvironmentVariable("OVERLAYCTL_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"no golden file {path}; run with OVERLAYCTL_UPDATE_GOLDEN=1 and review it");
        Assert.Equal(File.ReadAllText(path), actual);
    }
}
