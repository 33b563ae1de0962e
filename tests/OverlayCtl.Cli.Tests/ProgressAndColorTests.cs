using System.Text.RegularExpressions;
using OverlayCtl.Cli.Commands;
using OverlayCtl.Cli.Output;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Tests;

/// <summary>What a person watches while hosts are driven, and the colours a terminal gets (and nothing else does).</summary>
public sealed partial class ProgressAndColorTests
{
    [Fact]
    public void OffATerminalEachHostGetsOneLineAsItEndsAndReadsPrepareNone()
    {
        using var stderr = new StringWriter();
        using (var progress = new Progress(stderr, live: false, "apply"))
        {
            progress.Start("reading", 2, detailed: false);
            progress.HostStarted("n1");
            progress.HostDone("n1", "ok");
            progress.HostStarted("n2");
            progress.HostDone("n2", "ok");
            progress.Start("applying", 2, detailed: true);
            progress.HostStarted("n1");
            progress.HostStarted("n2");
            progress.HostDone("n2", "failed");
            progress.HostDone("n1", "interrupted");
        }
        Assert.Equal("apply: [1/2] n2 failed\napply: [2/2] n1 interrupted\n", stderr.ToString());
    }

    [Fact]
    public void OnATerminalTheLiveLineShowsFromTheStartAndALogLineNeverSharesIt()
    {
        using var stderr = new StringWriter();
        using (var progress = new Progress(stderr, live: true, "apply"))
        {
            progress.Start("applying", 3, detailed: true);
            progress.HostStarted("n1");
            progress.HostStarted("n2");
            progress.WriteAbove(() => stderr.Write("12:00:00 apply ERR n2: `ip link` exited 2\n"));
            progress.HostDone("n2", "failed");
            progress.HostDone("n1", "changed");
        }
        var text = stderr.ToString();
        // Before any host finished, the line already says who is running.
        Assert.Contains("apply: applying 0/3 hosts done; running n1, n2", text, StringComparison.Ordinal);
        // Every drawing starts by clearing the line, and the log line starts on a cleared line and ends it.
        Assert.Contains("running n1, n2\r\u001b[K12:00:00 apply ERR n2: `ip link` exited 2\n\r\u001b[K", text, StringComparison.Ordinal);
        // The last thing written takes the live line away.
        Assert.EndsWith("\r\u001b[K", text, StringComparison.Ordinal);
        // What a terminal keeps of each line: the text after its last clear. The log line stands alone.
        var visible = text.Split('\n').Select(line => line.Split("\r\u001b[K")[^1]).ToList();
        Assert.Equal(["12:00:00 apply ERR n2: `ip link` exited 2", ""], visible);
    }

    [Theory]
    [InlineData(false, null, true, true)]
    [InlineData(false, null, false, false)]
    [InlineData(true, null, true, false)]
    [InlineData(false, "1", true, false)]
    [InlineData(false, "", true, true)]
    public void ColourIsForATerminalUnlessNoColorSaysNo(bool noColorFlag, string? noColorVariable, bool terminal, bool expected) =>
        Assert.Equal(expected, Colors.Enabled(noColorFlag, noColorVariable, terminal));

    [Fact]
    public void APlanIsColouredBySignAndTheRecapByResultWithoutMovingAColumn()
    {
        const string Plan = "# node1\n  + route 10.244.2.0/24\n      ip route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink proto 211\n"
            + "  ~ link flannel.1 mtu: 1400 → 1450\n  - route 10.244.3.0/24\n  -/+ link flannel.1: id 1 → id 2\n  ! docker0 kept\n  node1: 1 to add, 1 to change, 1 to replace, 1 to remove\n";
        Assert.Equal(Plan, Colors.Plan(Plan, on: false));
        var colored = Colors.Plan(Plan, on: true);
        Golden.Match("OverlayCtl.Cli.Tests", "plan-color.txt", colored);
        Assert.Equal(Plan, Escapes().Replace(colored, ""));

        HostReport[] hosts =
        [
            new("node1", "10.244.1.0/24", false, "changed", null, 1, 0, 0, 0, [], [], null),
            new("node2", "10.244.2.0/24", false, "ok", null, 0, 0, 0, 0, [], [], null),
            new("node3", null, false, "failed", "node3: `ip -j -d link show` exited 255: ssh: connect to host node3 port 22: Connection refused", 0, 0, 0, 0, [], [], null),
            new("node4", "10.244.4.0/24", false, "interrupted", ClusterRunner.InterruptedWhileRunning, 0, 0, 0, 0, [], [], null),
        ];
        var recap = ConvergeCommands.Human(hosts, [], planned: false, color: true);
        Golden.Match("OverlayCtl.Cli.Tests", "recap-apply-color.txt", recap);
        Assert.Equal(ConvergeCommands.Human(hosts, [], planned: false, color: false), Escapes().Replace(recap, ""));
        Assert.Contains("\u001b[31mfailed\u001b[0m", recap, StringComparison.Ordinal);
    }

    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex Escapes();
}
