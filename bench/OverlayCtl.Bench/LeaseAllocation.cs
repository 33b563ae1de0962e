using System.Diagnostics;
using System.Globalization;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Etcd;

namespace OverlayCtl.Bench;

/// <summary>
/// Allocates N leases (a /12 cut into /24s) through the real lease store against a real etcd and
/// prints one line: hosts, seconds, HTTP round trips per lease. Then asks for one more than the range
/// holds and prints how long the clear error took.
/// </summary>
internal static class LeaseAllocation
{
    public static async Task<int> RunAsync(string endpoint, string prefix, int hosts)
    {
        var config = new NetworkConfig(Ipv4Cidr.Parse("10.0.0.0/12"), 24, Ipv4Address.Parse("10.0.0.0"), Ipv4Address.Parse("10.15.255.0"), "vxlan", 1, 8472);
        var requests = Enumerable.Range(0, hosts).Select(i =>
        {
            var address = new Ipv4Address(Ipv4Address.Parse("100.64.0.1").Value + (uint)i);
            return new LeaseRequest(address, null, "vxlan", 1, MacAddress.ForVtep(config.Network, address), "h" + i.ToString(CultureInfo.InvariantCulture));
        }).ToList();
        using var client = new EtcdGrpcClient(new EtcdClientOptions([new Uri(endpoint)]));
        var store = new EtcdLeaseStore(client, prefix);
        await store.EnsureConfigAsync(config, default);
        var before = client.RoundTrips;
        var clock = Stopwatch.StartNew();
        var leases = await store.AcquireAsync(config, requests, default);
        clock.Stop();
        if (leases.Select(l => l.Subnet).Distinct().Count() != hosts) throw new InvalidOperationException("duplicate subnets");
        var trips = client.RoundTrips - before;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"leases hosts={hosts} seconds={clock.Elapsed.TotalSeconds:0.000} roundtrips_per_lease={(double)trips / hosts:0.00}"));

        var tiny = config with { SubnetMax = config.SubnetMin.Add(255L << 8) };
        var errorClock = Stopwatch.StartNew();
        try
        {
            await new EtcdLeaseStore(client, prefix + "-full").AcquireAsync(tiny, requests.Take(257).ToList(), default);
            Console.WriteLine("exhaustion: NOT REPORTED");
            return 1;
        }
        catch (LeaseException e)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exhaustion seconds={errorClock.Elapsed.TotalSeconds:0.000} message=\"{e.Message}\""));
        }
        return 0;
    }
}
