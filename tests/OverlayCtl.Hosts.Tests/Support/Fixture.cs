namespace OverlayCtl.Hosts.Tests.Support;

/// <summary>Outputs captured from the real tools on this lab's kernel (tests/OverlayCtl.Hosts.Tests/Fixtures).</summary>
internal static class Fixture
{
    public static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));
}
