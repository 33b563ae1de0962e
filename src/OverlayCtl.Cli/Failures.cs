using OverlayCtl.Core;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Engine;
using OverlayCtl.Cli.Output;
using Serilog;

namespace OverlayCtl.Cli;

/// <summary>The kinds of failure a command can end in; each has one exit code (docs/exit-codes.md).</summary>
internal enum FailureKind
{
    /// <summary>A spec, flag, variable or local file that cannot be used: exit 1.</summary>
    BadInput,
    /// <summary>etcd answered, but the lease operation cannot be done as asked: exit 1.</summary>
    LeaseRefused,
    /// <summary>No etcd endpoint answered, or none is an etcd: exit 3.</summary>
    StoreUnavailable,
    /// <summary>etcd answered and refused: authentication, permission, TLS, an alarm: exit 3.</summary>
    StoreRefused,
    /// <summary>A host could not be reached, or a command on it failed: exit 4.</summary>
    HostFailed,
    /// <summary>Another run holds the cluster lock: exit 6.</summary>
    Locked,
    /// <summary>A saved plan the world has moved past: exit 7.</summary>
    StalePlan,
    /// <summary>stdout could not be written; the work itself was done: exit 74.</summary>
    OutputFailed,
    /// <summary>Ctrl-C or SIGTERM: exit 130.</summary>
    Interrupted,
    /// <summary>An exception nothing expects: a bug, exit 70.</summary>
    Internal,
}

/// <summary>A failure as the operator sees it: its kind, its exit code and the lines that say the cause and the fix.</summary>
internal sealed record Failure(FailureKind Kind, int ExitCode, IReadOnlyList<string> Lines);

/// <summary>
/// The one place where an exception becomes an exit code and a message. Expected failures print their
/// message (their thrower names the cause and the fix; the kind adds a fix where the thrower cannot know
/// it); <c>-v</c> adds the messages of the exceptions underneath, never a stack trace. A bug prints
/// one line asking for a report; its stack goes to <c>--log-file</c>, and to stderr only with <c>-v</c>.
/// </summary>
internal static class Failures
{
    private const string Prefix = "overlayctl: ";

    public static Failure Classify(Exception exception, bool interrupted) => exception switch
    {
        // The documented contract for bad specs: only file:line:column lines, then a count.
        SpecException e => new(FailureKind.BadInput, ExitCodes.Error, [.. e.Errors.Select(x => x.ToString()), $"{e.Errors.Count} problem(s) in the spec"]),
        InputException or UsageException => new(FailureKind.BadInput, ExitCodes.Error, [Prefix + exception.Message]),
        OutputWriteException => new(FailureKind.OutputFailed, ExitCodes.OutputFailed,
            [Prefix + "cannot write the output to stdout: " + exception.Message + " (the command's work is done; only its report is lost. fix: send stdout where there is room, e.g. > FILE, and run a read-only command such as status or plan to see the result)"]),
        // Local files written or read outside the spec and TLS checks (lab state, a host's files on this machine).
        IOException or UnauthorizedAccessException => new(FailureKind.BadInput, ExitCodes.Error, [Prefix + exception.Message]),
        LeaseException => new(FailureKind.LeaseRefused, ExitCodes.Error, [Prefix + "lease refused: " + exception.Message]),
        ClusterLockedException => new(FailureKind.Locked, ExitCodes.Locked, [Prefix + exception.Message]),
        StalePlanException => new(FailureKind.StalePlan, ExitCodes.StalePlan, [Prefix + exception.Message]),
        StoreUnavailableException => new(FailureKind.StoreUnavailable, ExitCodes.StoreUnavailable,
            [Prefix + "etcd unreachable: " + exception.Message + " (fix: check that etcd runs and that --endpoints, the spec's etcd.endpoints or $OVERLAYCTL_ENDPOINTS name its client URL, e.g. http://127.0.0.1:2379)"]),
        StoreRefusedException => new(FailureKind.StoreRefused, ExitCodes.StoreUnavailable, [Prefix + "etcd refused: " + exception.Message]),
        CommandFailedException or PlanningException => new(FailureKind.HostFailed, ExitCodes.HostFailed,
            [Prefix + "host failed: " + exception.Message + " (fix: correct the host, then run again; -v logs every command run)"]),
        // Its thrower names the host, the file, the cause and the fix.
        HostFileException or DockerRestartException => new(FailureKind.HostFailed, ExitCodes.HostFailed, [Prefix + "host failed: " + exception.Message]),
        OperationCanceledException when interrupted => new(FailureKind.Interrupted, ExitCodes.Interrupted, [Prefix + "interrupted"]),
        _ => new(FailureKind.Internal, ExitCodes.InternalError,
            [Prefix + $"internal error: {exception.Message} (this is a bug in overlayctl; please report it with the output of the same command run with -v --log-file FILE)"]),
    };

    /// <summary>Prints the failure on stderr (and in the log file, if one is open) and returns its exit code.</summary>
    public static int Report(Exception exception, bool interrupted, bool verbose, TextWriter stderr, ILogger? fileLog)
    {
        var failure = Classify(exception, interrupted);
        foreach (var line in failure.Lines)
        {
            stderr.WriteLine(line);
            fileLog?.Error("{Failure}", line);
        }
        var detail = Detail(exception, failure.Kind);
        foreach (var line in detail)
        {
            if (verbose) stderr.WriteLine(Prefix + line);
            fileLog?.Debug("{Detail}", line);
        }
        stderr.Flush();
        return failure.ExitCode;
    }

    /// <summary>For a bug, the exception with its stack; otherwise the messages of the exceptions underneath.</summary>
    private static List<string> Detail(Exception exception, FailureKind kind)
    {
        if (kind == FailureKind.Internal) return [exception.ToString()];
        var lines = new List<string>();
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
            lines.Add("because: " + inner.Message);
        return lines;
    }
}
