using System.Diagnostics;

namespace OverlayCtl.Testing;

/// <summary>Runs a program with an argument list for test set-up and assertions.</summary>
internal static class Sh
{
    public static (int ExitCode, string Stdout, string Stderr) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }

    public static string Must(string program, params string[] args)
    {
        var (code, stdout, stderr) = Run(program, args);
        return code == 0 ? stdout : throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {code}: {stderr}");
    }

    public static string Unique(string stem) => stem + Guid.NewGuid().ToString("N")[..6];
}
