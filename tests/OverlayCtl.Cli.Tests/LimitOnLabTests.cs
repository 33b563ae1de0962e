using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>--limit patterns and the retry file, as an operator with ansible habits uses them after a host failed.</summary>
[Trait("Category", "Namespaces")]
[Collection(EtcdCollection.Name)]
public sealed class LimitOnLabTests(EtcdFixture etcd)
{
    [Fact]
    public async Task AFailedApplyWritesARetryFileThatTheNextApplyTakesAsItsLimit()
    {
        await using var lab = new LabCluster(etcd.Cluster.ClientUrl.ToString(), hosts: 3, underlay: "198.18.217.0/24", namespacePrefix: "fl-");
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);

        var some = await lab.RunAsync("plan", "-o", "json", "--limit", "n[13]");
        Assert.True(some.ExitCode == 0, some.ToString());
        Assert.Equal(["n1", "n3"], some.Json().GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("host").GetString()));
        var typo = await lab.RunAsync("plan", "--limit", "n1,!nX");
        Assert.True(typo.ExitCode == 1 && typo.Stderr.Contains("--limit: '!nX' matches no host in", StringComparison.Ordinal), typo.ToString());

        // n2 cannot be reached: apply converges the others and names n2 in the retry file.
        Sh.Must("ip", "netns", "del", lab.Netns("n2"));
        var failed = await lab.RunAsync("apply");
        Assert.True(failed.ExitCode == 4, failed.ToString());
        var retry = Path.Combine(lab.Dir, "cluster.retry");
        Assert.Equal("n2\n", File.ReadAllText(retry));
        Assert.Contains($"overlayctl: 1 host(s) failed; to retry them: --limit @{retry}", failed.Stderr, StringComparison.Ordinal);

        // Back, and retried alone.
        Assert.Equal(0, (await lab.RunAsync("lab", "up")).ExitCode);
        var again = await lab.RunAsync("apply", "-o", "json", "--limit", "@" + retry);
        Assert.True(again.ExitCode == 0, again.ToString());
        var host = Assert.Single(again.Json().GetProperty("hosts").EnumerateArray());
        Assert.Equal("n2", host.GetProperty("host").GetString());
        Assert.Equal(0, (await lab.RunAsync("plan", "--detailed-exitcode")).ExitCode);

        // A retry file that is empty or missing is refused, never read as "every host".
        File.WriteAllText(retry, "");
        var empty = await lab.RunAsync("apply", "--limit", "@" + retry);
        Assert.True(empty.ExitCode == 1 && empty.Stderr.Contains("lists no host", StringComparison.Ordinal), empty.ToString());
        var missing = await lab.RunAsync("apply", "--limit", "@" + retry + ".gone");
        Assert.True(missing.ExitCode == 1, missing.ToString());
    }
}
