using OverlayCtl.Testing;
using System.Diagnostics;
using System.Globalization;
using OverlayCtl.Core.Net;

namespace OverlayCtl.Etcd.Tests;

/// <summary>
/// Separate overlayctl processes racing for leases in one etcd: no two hosts ever get one subnet,
/// no host ever gets two, and nobody dies of a lost race.
/// </summary>
[Collection(EtcdCollection.Name)]
public sealed class ConcurrentProcessesTests(EtcdFixture etcd) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("overlayctl-race-").FullName;

    [Fact]
    public async Task SixteenProcessesAllocatingAtOnceNeverShareOrDoubleASubnet()
    {
        var prefix = EtcdFixture.UniquePrefix();
        // 14 distinct hosts, and two processes each for the host at 192.0.2.100.
        var specs = Enumerable.Range(1, 14).Select(i => WriteSpec(prefix, $"h{i}", $"192.0.2.{i}"))
            .Concat([WriteSpec(prefix, "dup", "192.0.2.100"), WriteSpec(prefix, "dup", "192.0.2.100")])
            .ToList();
        // The native binary when scripts/test.sh published one: 16 JIT start-ups at once on 2 cores can
        // outlast the dial timeout; the race under test is the same either way.
        var native = Environment.GetEnvironmentVariable("OVERLAYCTL_NATIVE");
        var processes = specs.Select(spec =>
        {
            var start = native is { Length: > 0 }
                ? new ProcessStartInfo(native)
                : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "overlayctl.dll") } };
            start.RedirectStandardOutput = start.RedirectStandardError = true;
            foreach (var a in new[] { "leases", "allocate", "-f", spec, "-o", "json" }) start.ArgumentList.Add(a);
            return Process.Start(start)!;
        }).ToList();
        var outcomes = await Task.WhenAll(processes.Select(async p =>
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            return (p.ExitCode, stdout, Stderr: await stderr);
        }));
        foreach (var p in processes) p.Dispose();

        Assert.All(outcomes, o => Assert.True(o.ExitCode == 0, $"exit {o.ExitCode}: {o.Stderr}"));
        using var client = new EtcdGrpcClient(new EtcdClientOptions(etcd.Cluster.ClientUrls));
        var leases = await new EtcdLeaseStore(client, prefix).ListAsync(default);
        Assert.Equal(15, leases.Count);
        Assert.Equal(15, leases.Select(l => l.Subnet).Distinct().Count());
        Assert.Equal(15, leases.Select(l => l.PublicIp).Distinct().Count());
        Assert.Single(leases, l => l.PublicIp == Ipv4Address.Parse("192.0.2.100"));
    }

    private string WriteSpec(string prefix, string host, string address)
    {
        var path = Path.Combine(_dir, $"{host}-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: race
            etcd:
              endpoints: [{etcd.Cluster.ClientUrl}]
              prefix: {prefix}
            network:
              cidr: 10.244.0.0/16
            hosts:
              - name: {host}
                address: {address}
            """));
        return path;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
