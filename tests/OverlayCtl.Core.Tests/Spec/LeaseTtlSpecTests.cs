using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Tests.Spec;

/// <summary><c>leases.ttl</c>: agents' leases expire without keep-alive; absent or 0 keeps reservations.</summary>
public sealed class LeaseTtlSpecTests
{
    private static string Text(string leases) => $"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: c
        network:
          cidr: 10.244.0.0/16
        {leases}
        hosts:
          - name: n1
            address: 198.18.0.11
        """;

    [Theory]
    [InlineData("", null)]
    [InlineData("leases:\n  ttl: 0", null)]
    [InlineData("leases:\n  ttl: 24h", 86400)]
    [InlineData("leases:\n  ttl: 1m30s", 90)]
    public void TheTtlIsAGoDurationAndZeroOrNoneMeansReservations(string leases, int? seconds) =>
        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, SpecLoader.Parse(Text(leases), "c.yaml").LeaseTtl);

    [Theory]
    [InlineData("leases:\n  ttl: soon", "c.yaml:7:8: leases.ttl 'soon' is not a duration of 2s or more (fix: write a duration such as 24h (flannel's) or 30m, or 0 for leases that never expire)")]
    [InlineData("leases:\n  ttl: 1s", "c.yaml:7:8: leases.ttl '1s' is not a duration of 2s or more (fix: write a duration such as 24h (flannel's) or 30m, or 0 for leases that never expire)")]
    public void ABadTtlIsLocatedWithTheFix(string leases, string expected) =>
        Assert.Equal(expected, Assert.Single(Assert.Throws<SpecException>(() => SpecLoader.Parse(Text(leases), "c.yaml")).Errors).ToString());
}
