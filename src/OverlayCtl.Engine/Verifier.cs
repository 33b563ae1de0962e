using System.Collections.Concurrent;
using System.Security.Cryptography;
using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Docker;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Core.Spec;
using OverlayCtl.Core.Verification;
using OverlayCtl.Hosts.Observe;
using OverlayCtl.Hosts.Probe;
using Serilog;

namespace OverlayCtl.Engine;

/// <summary>
/// verify's use case: a container probe on every target, every probe reaching every other, and each broken
/// pair judged with the doctor checks of its two hosts. The probes are removed whatever happens: a host
/// failing, a pair failing, or the run cancelled (Ctrl-C).
/// </summary>
public sealed class Verifier(ClusterSpec spec, ClusterRunner hosts, ILogger log, int parallel)
{
    /// <summary>The first pair's TCP port; each pair has its own, in probe namespaces where nothing else listens.</summary>
    private const int FirstPort = 40000;

    public async Task<VerifyOutcome> RunAsync(IReadOnlyList<HostSpec> targets, IReadOnlyList<Lease> leases, CancellationToken cancellationToken)
    {
        var run = RandomNumberGenerator.GetHexString(ContainerProbe.RunLength, lowercase: true);
        var index = targets.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i);
        var made = new ConcurrentDictionary<string, Made>(StringComparer.Ordinal);
        VerifyOutcome outcome;
        try
        {
            var inspected = await hosts.InspectAsync(targets, leases, async (input, runner, token) =>
            {
                var findings = Doctor.CheckHost(input, await FactsObserver.ObserveAsync(runner, input, token).ConfigureAwait(false));
                // Doctor's docker-bridge check: without the bridge up and holding the gateway, no container there reaches anything.
                if (findings.FirstOrDefault(f => f.Check == Doctor.DockerBridge.Name && f.Severity == Severity.Error) is { } bridge)
                {
                    log.Error("{Host}: {Problem}", input.Host.Name, bridge.Problem);
                    return new Probed(null, findings, bridge.Problem);
                }
                // A run killed outright (verify holds the cluster lock, so none is running) left its probe: it holds the
                // address this run's probe takes.
                foreach (var left in input.Observed.Links.Where(l => l.Master == spec.Docker.Bridge)
                             .Select(l => ContainerProbe.Leftover(input.Host.Name, l.Name, spec.Docker.Bridge)).OfType<ContainerProbe>())
                {
                    log.Warning("{Host}: removing probe {Namespace} (port {Port} of {Bridge}), left by an earlier verify that was killed", input.Host.Name, left.Namespace, left.HostVeth, left.Bridge);
                    await ProbeDriver.RemoveAsync(runner, left, log).ConfigureAwait(false);
                }
                var mtu = ContainerMtu(input);
                var probe = ContainerProbe.For(run, index[input.Host.Name], input.Host.Name, input.Lease.Subnet, spec.Docker.Bridge, mtu) with
                {
                    Ipv6 = spec.Network.Ipv6 is not null && input.Lease.Subnet6 is { } subnet6 ? new Ipv6Side(subnet6, Ipv6Mtu(input, mtu)) : null,
                };
                // Known before the first command, so a creation that fails half-way is removed too.
                made[input.Host.Name] = new Made(runner, probe, input.Host.Address);
                await ProbeDriver.CreateAsync(runner, probe, token).ConfigureAwait(false);
                return new Probed(probe, findings, null);
            }, cancellationToken).ConfigureAwait(false);
            var probed = inspected.Select(i => new ProbedHost(i.Host, i.Value?.Probe, i.Error ?? i.Value?.Error)).ToList();
            var findings = inspected.SelectMany(i => i.Value?.Findings ?? []).ToList();
            using var gate = new SemaphoreSlim(Math.Max(1, parallel));
            var pairs = await Task.WhenAll(VerifyOutcome.PairsOf(probed).Select(async (pair, i) =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var (from, to) = (made[pair.From.Host], made[pair.To.Host]);
                    var seen = await ProbeDriver.PairAsync(from.Runner, pair.From, to.Runner, pair.To, to.Underlay, FirstPort + i, cancellationToken).ConfigureAwait(false);
                    return PairResult.Judge(pair.From, pair.To, to.Underlay, seen, findings);
                }
                catch (CommandFailedException e)
                {
                    return PairResult.Failed(pair.From, pair.To, e.Message);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
            outcome = new VerifyOutcome(probed, pairs);
        }
        finally
        {
            await Task.WhenAll(made.Values.Select(m => ProbeDriver.RemoveAsync(m.Runner, m.Probe, log))).ConfigureAwait(false);
        }
        // Interrupted while the pings ran out on their own (or were killed with the terminal's process group), or
        // while the probes were being removed: an interrupted run, never a report of broken pairs.
        cancellationToken.ThrowIfCancellationRequested();
        return outcome;
    }

    /// <summary>
    /// The MTU containers on the host get: Docker's, from daemon.json (which apply wrote); else the spec's overlay
    /// MTU over the host's underlay. Not recomputed when daemon.json has one, so an underlay shrunk since apply
    /// shows as the MTU mismatch it is for the containers running there.
    /// </summary>
    private int ContainerMtu(PlanInput input) =>
        DockerFiles.Mtu(spec.Docker.DaemonConfigFor(input.Host) is { } path ? input.Observed.Files.GetValueOrDefault(path) : null)
            ?? spec.Network.OverlayMtu(Underlay.Find(input.Host, input.Observed).Mtu);

    /// <summary>
    /// The IPv6 path's MTU: the containers' (Docker has one MTU for both families) or, when less, what the backend leaves
    /// of the underlay for IPv6 (VXLAN over IPv6 costs 20 bytes more than over IPv4); beyond it TCP adapts by path-MTU
    /// discovery, and a don't-fragment echo is answered "Packet Too Big".
    /// </summary>
    private int Ipv6Mtu(PlanInput input, int containerMtu) =>
        Math.Min(containerMtu, spec.Network.Mtu ?? Underlay.Find(input.Host, input.Observed).Mtu - spec.Network.Backend.Ipv6Overhead);

    /// <summary>What a host's inspection gave: its probe (or why none) and its doctor findings.</summary>
    private sealed record Probed(ContainerProbe? Probe, IReadOnlyList<Finding> Findings, string? Error);

    /// <summary>A probe that exists (or may, half-made) on a host, with the runner that removes it.</summary>
    private sealed record Made(IHostRunner Runner, ContainerProbe Probe, Ipv4Address Underlay);
}
