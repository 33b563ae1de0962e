using BenchmarkDotNet.Running;
using System.Globalization;

namespace OverlayCtl.Bench;

/// <summary>
/// Benchmarks run on their own (scripts/bench.sh), never as part of the tests.
/// <c>leases ENDPOINT PREFIX N</c> measures allocation against a real etcd; anything else goes to BenchmarkDotNet.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 4 && args[0] == "leases")
            return await LeaseAllocation.RunAsync(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
