using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Tests.Backends;

/// <summary>A one-host spec around a network section, and the errors it loads with, for the backends' spec tests.</summary>
internal static class SpecText
{
    /// <summary>Line 5 is the first line of <paramref name="network"/>.</summary>
    public static string With(string network, string docker = "") => $"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: lab
        network:
          cidr: 10.244.0.0/16
        {network}
        {docker}
        hosts:
          - name: a
            address: 192.0.2.1
        """;

    public static ClusterSpec Load(string network, string docker = "") => SpecLoader.Parse(With(network, docker), "c.yaml");

    public static IReadOnlyList<string> Errors(string network, string docker = "") =>
        Assert.Throws<SpecException>(() => Load(network, docker)).Errors.Select(e => e.ToString()).ToList();
}
