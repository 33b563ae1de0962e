using OverlayCtl.Cli.Commands;
using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// What a new user sees when they get a command line wrong, or when the output cannot be written: one
/// line that says the cause and the fix, pinned exactly.
/// </summary>
public sealed class MessagesTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _spec;

    public MessagesTests()
    {
        _spec = _dir.Combine("spec.yaml");
        File.Copy(Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml"), _spec);
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("overlayctl: unknown command 'plna' (did you mean 'plan'? overlayctl --help lists the commands)", "plna")]
    [InlineData("overlayctl: unknown command 'frobnicate' (overlayctl --help lists the commands)", "frobnicate")]
    [InlineData("overlayctl leases: unknown command 'lst' (did you mean 'list'? overlayctl leases --help lists the commands)", "leases", "lst")]
    [InlineData("overlayctl plan: unknown option '--limt' (did you mean '--limit'? overlayctl plan --help lists the options)", "plan", "--limt", "node1", "-f", "{spec}")]
    [InlineData("overlayctl validate: unexpected argument 'extra' (overlayctl validate --help shows the usage)", "validate", "-f", "{spec}", "extra")]
    [InlineData("overlayctl: -o jsn: not an output format (fix: use one of table, wide, json, yaml)", "validate", "-f", "{spec}", "-o", "jsn")]
    [InlineData("overlayctl: --log-level loud: not a log level (fix: use one of debug, info, warning, error)", "validate", "-f", "{spec}", "--log-level", "loud")]
    [InlineData("overlayctl leases: a command is needed: allocate, list, release, gc (overlayctl leases --help explains them)", "leases")]
    public async Task AMistypedCommandLineIsOneLineWithTheFixAndNoHelp(string expected, params string[] args)
    {
        var run = await CliRun.RunAsync([.. args.Select(a => a.Replace("{spec}", _spec, StringComparison.Ordinal))]);
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal(expected + "\n", run.Stderr);
        Assert.Equal("", run.Stdout);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("JSON")]
    [InlineData("Yaml")]
    public async Task OutputFormatsAreTakenInAnyCase(string format)
    {
        var run = await CliRun.RunAsync("validate", "-f", _spec, "-o", format);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    [Fact]
    public async Task DoctorNamesItsOwnHostArgumentNotLimit()
    {
        var run = await CliRun.RunAsync("doctor", "-f", _spec, "node9");
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal($"overlayctl: doctor: node9 is not a host in {_spec} (fix: name one of node1, node2, node3, or no HOST to check them all)\n", run.Stderr);
    }

    [Fact]
    public async Task AnOutputThatCannotBeWrittenIsItsOwnExitCodeNotBadInput()
    {
        using var stderr = new StringWriter();
        var code = await CommandLine.RunAsync(["validate", "-f", _spec, "-o", "json"], new FullDisk(), stderr);
        Assert.True(code == 74, stderr.ToString());
        Assert.StartsWith("overlayctl: cannot write the output to stdout: No space left on device (the command's work is done", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void APlanRecapSaysWhatIsToBeDoneAndApplysWhatWasDone()
    {
        HostReport[] hosts =
        [
            new("node1", "10.244.1.0/24", false, "changed", null, 1, 0, 0, 0, [], [], null),
            new("node2", "10.244.2.0/24", false, "ok", null, 0, 0, 0, 0, [], [], null),
            new("node3", null, false, "failed", "node3: `ip -j -d link show` exited 255: ssh: connect to host node3 port 22: Connection refused", 0, 0, 0, 0, [], [], null),
        ];
        Golden.Match("OverlayCtl.Cli.Tests", "recap-plan.txt", ConvergeCommands.Human(hosts, [], planned: true));
        Golden.Match("OverlayCtl.Cli.Tests", "recap-apply.txt", ConvergeCommands.Human(hosts, [], planned: false));
    }

    /// <summary>stdout on a full disk, as <c>&gt; /dev/full</c> is.</summary>
    private sealed class FullDisk : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new IOException("No space left on device");

        public override void Write(string? value) => throw new IOException("No space left on device");
    }
}
