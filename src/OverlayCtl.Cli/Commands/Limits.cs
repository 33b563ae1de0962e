using OverlayCtl.Core;
using OverlayCtl.Core.Files;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// The edge of <c>--limit</c>: <c>@FILE</c> items read into patterns (one per line, as ansible's retry files), and the
/// retry file a fan-out command writes when hosts failed, so the next run can take exactly those (<c>--limit @FILE</c>).
/// </summary>
internal static class Limits
{
    /// <summary>The <c>--limit</c> value with every <c>@FILE</c> item replaced by the patterns in that file.</summary>
    public static string? Expand(string? limit)
    {
        if (limit is null || !limit.Contains('@', StringComparison.Ordinal)) return limit;
        var patterns = new List<string>();
        foreach (var item in limit.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!item.StartsWith('@'))
            {
                patterns.Add(item);
                continue;
            }
            var path = item[1..];
            if (!RegularFile.TryReadText(path, out var text, out var problem))
                throw new InputException($"--limit {item}: {path} {problem} (fix: name a file of host patterns, one per line, such as the retry file a failed apply names)");
            var listed = HostPatterns.Split(text);
            // An empty file must not turn into "no limit": that would be every host.
            if (listed.Count == 0) throw new InputException($"--limit {item}: {path} lists no host (fix: one host name or pattern per line)");
            patterns.AddRange(listed);
        }
        return string.Join(',', patterns);
    }

    /// <summary>
    /// Where a run of <paramref name="spec"/> keeps the hosts that failed: beside the spec, named after it (<c>cluster.yaml</c>:
    /// <c>cluster.retry</c>), as ansible does beside a playbook.
    /// </summary>
    public static string RetryFile(ClusterSpec spec) => Path.ChangeExtension(Path.GetFullPath(spec.SourcePath), ".retry");

    /// <summary>
    /// When hosts failed: writes their names, one per line, to the retry file (<see cref="RetryFile"/>; under
    /// <c>~/.overlayctl-retry/</c> when the spec's directory cannot be written) and says on stderr how to retry them.
    /// A retry file that cannot be written is a warning: the run's own result stands.
    /// </summary>
    public static void WriteRetry(CliContext context, ClusterSpec spec, IReadOnlyList<string> failed)
    {
        if (failed.Count == 0) return;
        var content = string.Concat(failed.Select(h => h + "\n"));
        var beside = RetryFile(spec);
        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".overlayctl-retry", Path.GetFileName(beside));
        foreach (var path in new[] { beside, home })
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, content);
                context.Stderr.WriteLine($"overlayctl: {failed.Count} host(s) failed; to retry them: --limit @{path}");
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                context.Log.Debug("retry file {Path} not written: {Reason}", path, e.Message);
            }
        }
        context.Stderr.WriteLine($"overlayctl: warning: no retry file written ({beside} and {home} cannot be written); the failed hosts: {string.Join(',', failed)}");
    }
}
