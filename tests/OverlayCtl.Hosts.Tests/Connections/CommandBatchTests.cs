using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Tests.Support;
using Serilog.Core;

namespace OverlayCtl.Hosts.Tests.Connections;

public sealed class CommandBatchTests
{
    private readonly LocalHostRunner _local = new("here", new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));

    [Fact]
    public async Task EachCommandOfABatchGetsItsOwnArgumentsOutputErrorAndExitCodeAsIfRunAlone()
    {
        string[] hostile = ["it's", "$(touch /tmp/overlayctl-pwned)", "a b", "", "\"q\"", "*", "line\nbreak", "${1}", "-n"];
        var results = await CommandBatch.RunAsync(_local,
        [
            new CommandSpec("printf", ["%s|", .. hostile]),
            CommandSpec.Of("sh", "-c", "echo out; echo err >&2; exit 3"),
            CommandSpec.Of("printf", "no newline at the end"),
            CommandSpec.Of("printf", "two\\n\\n"),
            CommandSpec.Of("overlayctl-no-such-program"),
            CommandSpec.Of("true"),
        ], default);

        Assert.Equal(6, results.Count);
        Assert.Equal(new CommandResult(0, string.Concat(hostile.Select(h => h + "|")), ""), results[0]);
        Assert.Equal(new CommandResult(3, "out\n", "err\n"), results[1]);
        Assert.Equal(new CommandResult(0, "no newline at the end", ""), results[2]);
        Assert.Equal(new CommandResult(0, "two\n\n", ""), results[3]);
        Assert.Equal(127, results[4].ExitCode);
        Assert.Contains("overlayctl-no-such-program", results[4].StandardError, StringComparison.Ordinal);
        Assert.Equal(new CommandResult(0, "", ""), results[5]);
        Assert.False(File.Exists("/tmp/overlayctl-pwned"));
    }

    [Fact]
    public void ABatchThatNeverRanReportsItsOwnFailureForEveryCommand()
    {
        var results = CommandBatch.Split(new CommandResult(255, "", "ssh: connect to host 198.18.170.11 port 22: Connection refused\n"), CommandBatch.NewMarker(), 3);
        Assert.All(results, r => Assert.Equal(new CommandResult(255, "", "ssh: connect to host 198.18.170.11 port 22: Connection refused\n"), r));
    }

    [Fact]
    public void ABatchCutShortFinishesWhatRanAndFailsTheRest()
    {
        var m = CommandBatch.NewMarker();
        var results = CommandBatch.Split(new CommandResult(137, $"first\n{m} 0\nhalf", $"\n{m} 0\nKilled\n"), m, 3);
        Assert.Equal(new CommandResult(0, "first", ""), results[0]);
        Assert.Equal(new CommandResult(137, "", "Killed\n"), results[1]);
        Assert.Equal(137, results[2].ExitCode);
    }

    [Fact]
    public async Task APrefetchedHostAnswersEveryReadFromTheBatchAndRunsEverythingElse()
    {
        var recording = new RecordingHostRunner("h") { Answer = c => _local.RunAsync(c, default).GetAwaiter().GetResult() };
        var host = await PrefetchedHost.ReadAsync(recording, [CommandSpec.Of("echo", "one"), CommandSpec.Of("echo", "two")], default);
        Assert.Single(recording.Ran);

        Assert.Equal("two\n", (await host.RunAsync(CommandSpec.Of("echo", "two"), default)).StandardOutput);
        Assert.Equal("one\n", (await host.RunAsync(CommandSpec.Of("echo", "one"), default)).StandardOutput);
        Assert.Single(recording.Ran);
        // Asked again (two readers of one table in one observation): the same answer, no round trip.
        Assert.Equal("one\n", (await host.RunAsync(CommandSpec.Of("echo", "one"), default)).StandardOutput);
        Assert.Single(recording.Ran);
        // Not prefetched, or with input: run on the host.
        Assert.Equal("three\n", (await host.RunAsync(CommandSpec.Of("echo", "three"), default)).StandardOutput);
        Assert.Equal("one\n", (await host.RunAsync(CommandSpec.Of("cat") with { StandardInput = "one\n" }, default)).StandardOutput);
        Assert.Equal(3, recording.Ran.Count);
    }
}
