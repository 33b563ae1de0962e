using OverlayCtl.Core;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli.Tests;

public sealed class FailuresTests
{
    public static TheoryData<Exception, string, int> Cases => new()
    {
        { new SpecException([new SpecError("c.yaml", 3, 4, "bad", "fix it")]), nameof(FailureKind.BadInput), 1 },
        { new InputException("--cacert x: no such file"), nameof(FailureKind.BadInput), 1 },
        { new UsageException("--limit names hosts not in c.yaml"), nameof(FailureKind.BadInput), 1 },
        { new LeaseException("the range is exhausted"), nameof(FailureKind.LeaseRefused), 1 },
        { new StoreUnavailableException("no etcd endpoint answered"), nameof(FailureKind.StoreUnavailable), 3 },
        { new StoreRefusedException("authentication failed"), nameof(FailureKind.StoreRefused), 3 },
        { new CommandFailedException("node1", new CommandSpec("ip", ["link"]), new CommandResult(1, "", "boom")), nameof(FailureKind.HostFailed), 4 },
        { new OverlayCtl.Engine.StalePlanException(["node1 changed since the plan"]), nameof(FailureKind.StalePlan), 7 },
        { new OverlayCtl.Cli.Output.OutputWriteException("No space left on device", new IOException("No space left on device")), nameof(FailureKind.OutputFailed), 74 },
        { new InvalidOperationException("a bug"), nameof(FailureKind.Internal), 70 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EachKindOfFailureHasOneExitCode(Exception exception, string kind, int exitCode)
    {
        // The kind travels as its name: FailureKind is internal, and a public test cannot take it as a parameter.
        var failure = Failures.Classify(exception, interrupted: false);
        Assert.Equal((kind, exitCode), (failure.Kind.ToString(), failure.ExitCode));
    }

    [Fact]
    public void ACancellationIsAnInterruptionOnlyWhenCtrlCWasPressed()
    {
        Assert.Equal(130, Failures.Classify(new OperationCanceledException(), interrupted: true).ExitCode);
        Assert.Equal(FailureKind.Internal, Failures.Classify(new OperationCanceledException(), interrupted: false).Kind);
    }

    [Fact]
    public void ABugSaysSoAndShowsItsStackOnlyWithVerbose()
    {
        var bug = Thrown(new InvalidOperationException("sequence contains no elements"));
        using var quiet = new StringWriter();
        Assert.Equal(70, Failures.Report(bug, false, verbose: false, quiet, null));
        Assert.StartsWith("overlayctl: internal error: sequence contains no elements (this is a bug in overlayctl; please report it", quiet.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", quiet.ToString(), StringComparison.Ordinal);

        using var verbose = new StringWriter();
        Failures.Report(bug, false, verbose: true, verbose, null);
        Assert.Contains("   at ", verbose.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void VerboseAddsTheCausesOfAnExpectedFailureButNoStack()
    {
        var refused = Thrown(new StoreRefusedException("etcd at http://a:2379 refused the TLS handshake (fix: check --cacert)", Thrown(new IOException("certificate verify failed"))));
        using var stderr = new StringWriter();
        Assert.Equal(3, Failures.Report(refused, false, verbose: true, stderr, null));
        Assert.Equal(
            "overlayctl: etcd refused: etcd at http://a:2379 refused the TLS handshake (fix: check --cacert)\noverlayctl: because: certificate verify failed\n",
            stderr.ToString().ReplaceLineEndings("\n"));
    }

    private static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
