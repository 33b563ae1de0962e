using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Tests.Support;
using Serilog;

namespace OverlayCtl.Hosts.Tests.Connections;

public sealed class ProcessRunnerTests
{
    [Fact]
    public async Task ASecretOnStandardInputReachesTheProgramButNeverTheLog()
    {
        var sink = new CollectingSink();
        var runner = new ProcessRunner(new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger(), TimeSpan.FromSeconds(10));
        const string Key = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

        var result = await runner.RunAsync("h", new CommandSpec("cat", [], Key, SecretInput: true), default);

        Assert.Equal(Key, result.StandardOutput);
        Assert.DoesNotContain(sink.Lines, l => l.Contains(Key, StringComparison.Ordinal));
        Assert.Contains(sink.Lines, l => l.Contains("(secret, 44 bytes)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OrdinaryStandardInputIsLoggedForTheAudit()
    {
        var sink = new CollectingSink();
        var runner = new ProcessRunner(new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger(), TimeSpan.FromSeconds(10));
        await runner.RunAsync("h", new CommandSpec("cat", [], "route replace 10.244.2.0/24\n"), default);
        Assert.Contains(sink.Lines, l => l.Contains("<<< route replace 10.244.2.0/24;", StringComparison.Ordinal));
    }
}
