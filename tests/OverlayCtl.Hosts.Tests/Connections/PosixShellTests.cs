using System.Diagnostics;
using OverlayCtl.Hosts.Connections;

namespace OverlayCtl.Hosts.Tests.Connections;

public sealed class PosixShellTests
{
    private static readonly string[] HostileStrings =
    [
        "$(touch /tmp/pwned)", "`id`", "a; rm -rf /", "it's", "\"double\"", "back\\slash", "new\nline", "", " ", "-n", "--", "*", "~root", "a|b", "ünïcødé", "$HOME", "!!",
    ];

    public static TheoryData<string> Hostile => new(HostileStrings);

    [Theory]
    [MemberData(nameof(Hostile))]
    public void EveryArgumentIsSingleQuoted(string arg)
    {
        var quoted = PosixShell.QuoteOne(arg);
        Assert.StartsWith("'", quoted, StringComparison.Ordinal);
        Assert.EndsWith("'", quoted, StringComparison.Ordinal);
    }

    [Fact]
    public void HostileArgumentsSurviveARealShellByteForByte()
    {
        var argv = HostileStrings.ToList();
        // The remote side of ssh runs the string through `sh -c`: do exactly that here.
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(PosixShell.Quote(["printf", "%s\\0", .. argv]));
        using var sh = Process.Start(start)!;
        var output = sh.StandardOutput.ReadToEnd();
        sh.WaitForExit();
        Assert.Equal(0, sh.ExitCode);
        Assert.Equal(argv, output.Split('\0')[..^1]);
        Assert.False(File.Exists("/tmp/pwned"));
    }

    [Fact]
    public void ANulByteIsRefused() => Assert.Throws<ArgumentException>(() => PosixShell.QuoteOne("a\0b"));
}
