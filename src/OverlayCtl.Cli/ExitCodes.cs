namespace OverlayCtl.Cli;

/// <summary>
/// Exit codes are a contract with scripts (documented in docs/exit-codes.md); never renumber.
/// </summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done, or there was nothing to do.</summary>
    public const int Ok = 0;

    /// <summary>Bad input (spec, arguments) or a refused lease operation.</summary>
    public const int Error = 1;

    /// <summary>Changes are pending: <c>plan --detailed-exitcode</c> with a non-empty plan, <c>status</c> with drift.</summary>
    public const int Changes = 2;

    /// <summary>No etcd endpoint could be reached, or etcd refused (authentication, permission, TLS, an alarm such as NOSPACE).</summary>
    public const int StoreUnavailable = 3;

    /// <summary>At least one host failed (could not be reached, observed or converged); the others were still done.</summary>
    public const int HostFailed = 4;

    /// <summary>A check found a problem: <c>verify</c> broken pairs, <c>doctor</c> findings.</summary>
    public const int ChecksFailed = 5;

    /// <summary>Another run holds the cluster lock (apply, destroy, verify, leases release/gc): nothing was changed.</summary>
    public const int Locked = 6;

    /// <summary><c>apply FILE</c>: the saved plan no longer matches etcd, a host or the spec; nothing was changed.</summary>
    public const int StalePlan = 7;

    /// <summary>A bug in overlayctl: an exception no failure category expects (sysexits' EX_SOFTWARE).</summary>
    public const int InternalError = 70;

    /// <summary>
    /// The command ran, but its output could not be written to stdout (a full disk, a device error; sysexits'
    /// EX_IOERR): hosts and etcd are as the command left them, only the report is lost.
    /// </summary>
    public const int OutputFailed = 74;

    /// <summary>Interrupted (Ctrl-C or SIGTERM), as shells report a SIGINT death.</summary>
    public const int Interrupted = 130;
}
