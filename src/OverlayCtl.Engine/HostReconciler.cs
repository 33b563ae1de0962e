using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.State;
using OverlayCtl.Hosts.Execute;
using OverlayCtl.Hosts.Observe;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>
/// One host, level-triggered: observe it, plan from its lease and every other lease, and (when asked)
/// execute the plan. What <c>apply</c> does per host and what an agent does on every change.
/// </summary>
public sealed class HostReconciler(ClusterSpec spec, ILogger log)
{
    /// <summary>Reads the host; with <paramref name="unchanged"/>, its rules and Open vSwitch state are taken from there (<see cref="ObserveRequest.Unchanged"/>).</summary>
    public Task<ObservedHost> ObserveAsync(HostSpec host, IHostRunner runner, CancellationToken cancellationToken, ObservedHost? unchanged = null)
    {
        var daemon = spec.Docker.DaemonConfigFor(host);
        var files = new[]
        {
            daemon, daemon is null ? null : DockerFiles.BackupPath(daemon), spec.Docker.SubnetEnvFor(host),
            daemon is null || spec.Docker.RestartFor(host) is null ? null : DockerFiles.RestartPendingPath(daemon),
        }.OfType<string>().ToList();
        return HostObserver.ObserveAsync(runner, new ObserveRequest(files, BackendRegistry.ReadsFor(spec, host), unchanged), cancellationToken);
    }

    /// <summary>
    /// Runs what the backend needs on the host before its lease can be written (<see cref="IBackend.PrepareLease"/>:
    /// a key made there), then reads the host again; returns the state the lease is made from. Nothing to run,
    /// nothing read twice.
    /// </summary>
    public async Task<ObservedHost> PrepareLeaseAsync(HostSpec host, IHostRunner runner, CancellationToken cancellationToken, ObservedHost? observed = null)
    {
        observed ??= await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var ops = spec.Network.Backend.PrepareLease(spec, host, observed).ToList();
        if (ops.Count == 0) return observed;
        log.Information("{Host}: before its lease: {Operations}", host.Name, string.Join("; ", ops.Select(o => o.Sign + " " + o.Address)));
        await PlanExecutor.ExecuteAsync(runner, new HostPlan(host.Name, ops), cancellationToken).ConfigureAwait(false);
        return await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Converges <paramref name="host"/> to its lease among <paramref name="leases"/> (all of them, its own
    /// included), from <paramref name="observed"/> when the caller read the host already (a preflight).
    /// </summary>
    public async Task<HostOutcome> ReconcileAsync(HostSpec host, Lease lease, IReadOnlyList<Lease> leases, IHostRunner runner, bool execute, CancellationToken cancellationToken, ObservedHost? observed = null)
    {
        observed ??= await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var plan = Planner.PlanApply(new PlanInput(spec, host, lease, LeaseCoordinator.PeersOf(spec, lease, leases), observed));
        return await FinishAsync(host, Planned(host, lease, plan) with { Observed = observed }, runner, execute, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes everything overlayctl made on <paramref name="host"/>; <paramref name="force"/> also a docker bridge with containers on it.</summary>
    public async Task<HostOutcome> DestroyAsync(HostSpec host, Lease? lease, IHostRunner runner, bool execute, bool force, CancellationToken cancellationToken)
    {
        var observed = await ObserveAsync(host, runner, cancellationToken).ConfigureAwait(false);
        var plan = Planner.PlanDestroy(spec, host, lease, observed, force);
        return await FinishAsync(host, Planned(host, lease, plan), runner, execute, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Carries out a plan made earlier on <paramref name="host"/>, as it is; then, when it wrote daemon.json,
    /// has dockerd restarted (<see cref="RestartDockerAsync"/>).
    /// </summary>
    public async Task<HostOutcome> ExecuteAsync(HostSpec host, HostOutcome planned, IHostRunner runner, CancellationToken cancellationToken)
    {
        log.Information("{Host}: applying {Count} operation(s)", host.Name, planned.Plan!.Operations.Count);
        await PlanExecutor.ExecuteAsync(runner, planned.Plan, cancellationToken).ConfigureAwait(false);
        return planned with { DockerRestart = await RestartDockerAsync(host, planned, runner, cancellationToken).ConfigureAwait(false) };
    }

    /// <summary>
    /// dockerd reads daemon.json only when it starts. When the executed plan wrote the file (an apply; destroy's
    /// restore is the operator's to restart), or took away the note of an earlier apply's unfinished restart, runs
    /// <c>docker.restart</c> after the overlay is up, then checks that the docker bridge holds the lease's gateway,
    /// the sign dockerd took the new bip. The note (<see cref="DockerFiles.RestartPendingPath"/>) is on the host from
    /// before the command until that check passes, so a failed or interrupted restart is run again by the next apply.
    /// Without the key, the outcome says a restart is due (as the plan's warning did).
    /// </summary>
    private async Task<DockerRestart?> RestartDockerAsync(HostSpec host, HostOutcome planned, IHostRunner runner, CancellationToken cancellationToken)
    {
        if (planned.Lease is not { } lease || spec.Docker.DaemonConfigFor(host) is not { } daemon) return null;
        var pending = DockerFiles.RestartPendingPath(daemon);
        if (!planned.Plan!.Operations.Any(o => (o.Kind != ChangeKind.Remove && o.Address == ResourceAddress.File(daemon)) || o.Address == ResourceAddress.File(pending))) return null;
        var bip = DockerFiles.Bip(lease.Subnet);
        if (spec.Docker.RestartFor(host) is not { } argv) return new DockerRestart(bip, null, Ran: false);
        var command = new CommandSpec(argv[0], argv.Skip(1).ToList());
        log.Information("{Host}: restarting dockerd to use bip {Bip}: {Command}", host.Name, bip, command);
        await runner.WriteFileAsync(pending, bip + "\n", null, cancellationToken).ConfigureAwait(false);
        var result = await runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new DockerRestartException($"{host.Name}: docker.restart `{command}` exited {result.ExitCode}: {result.StandardError.Trim()} (fix: make the command work on the host, then run apply again; daemon.json already says bip {bip})");
        var addresses = await runner.RunAsync(CommandSpec.Of("ip", "-j", "-4", "addr", "show", "dev", spec.Docker.Bridge), cancellationToken).ConfigureAwait(false);
        var gateway = new InterfaceAddress(lease.Subnet.Gateway, lease.Subnet.PrefixLength);
        if (!addresses.Succeeded || !StateParsers.ParseAddresses(addresses.StandardOutput).Any(a => a.Address == gateway))
            throw new DockerRestartException($"{host.Name}: after `{command}`, {spec.Docker.Bridge} does not hold {bip} (fix: check that dockerd reads {daemon} and uses bridge {spec.Docker.Bridge}, e.g. with docker info and its log, then run apply again)");
        await runner.DeleteFileAsync(pending, cancellationToken).ConfigureAwait(false);
        return new DockerRestart(bip, command.ToString(), Ran: true);
    }

    private HostOutcome Planned(HostSpec host, Lease? lease, HostPlan plan)
    {
        foreach (var warning in plan.Warnings) log.Warning("{Host}: {Warning}", host.Name, warning);
        return new HostOutcome(host.Name, lease, plan, plan.IsEmpty ? HostResult.Ok : HostResult.Changed, null);
    }

    private Task<HostOutcome> FinishAsync(HostSpec host, HostOutcome planned, IHostRunner runner, bool execute, CancellationToken cancellationToken) =>
        execute && !planned.Plan!.IsEmpty ? ExecuteAsync(host, planned, runner, cancellationToken) : Task.FromResult(planned);
}

/// <summary>docker.restart failed, or dockerd did not take the new bip; the message says which, on which host, and the fix.</summary>
public sealed class DockerRestartException(string message) : Exception(message);
