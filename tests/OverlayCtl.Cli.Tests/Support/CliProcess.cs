using System.Diagnostics;

namespace OverlayCtl.Cli.Tests.Support;

/// <summary>
/// Runs the overlayctl built beside the tests as a process of its own: for what an in-process run cannot vary
/// without racing the other tests (the working directory, the environment) and for what a shell drives (completion).
/// </summary>
internal static class CliProcess
{
    /// <summary>The apphost the build puts next to the test assembly (it runs overlayctl.dll on the installed runtime).</summary>
    public static string Binary => Path.Combine(AppContext.BaseDirectory, "overlayctl");

    /// <summary>Runs <paramref name="program"/> in <paramref name="directory"/> with PATH, DOTNET_ROOT and <paramref name="environment"/> only, for at most a minute.</summary>
    public static CliResult Run(string program, string directory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Run(TimeSpan.FromMinutes(1), program, directory, environment, args);

    /// <summary>As the other, with a time limit of its own (building a package on a loaded machine takes minutes).</summary>
    public static CliResult Run(TimeSpan limit, string program, string directory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var a in args) start.ArgumentList.Add(a);
        var kept = new[] { "PATH", "DOTNET_ROOT", "HOME" }.Where(start.Environment.ContainsKey).ToDictionary(k => k, k => start.Environment[k]);
        start.Environment.Clear();
        foreach (var (key, value) in kept) start.Environment[key] = value;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not finish within {limit}");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>overlayctl itself, run in <paramref name="directory"/>.</summary>
    public static CliResult Overlayctl(string directory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Run(Binary, directory, environment, args);
}
