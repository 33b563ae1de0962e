using BenchmarkDotNet.Running;

namespace OverlayCtl.Bench;

/// <summary>Benchmarks run on their own (scripts/bench.sh), never as part of the tests.</summary>
internal static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
