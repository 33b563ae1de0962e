using OverlayCtl.Core.Spec;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Lab;
using OverlayCtl.Hosts.Tests.Support;
using Serilog.Core;

namespace OverlayCtl.Hosts.Tests.Connections;

[Trait("Category", "Namespaces")]
// Classes that create namespaces run one after another: run in parallel, the lab test failed once in CI.
[Collection("Namespaces")]
public sealed class LabManagerTests
{
    [Fact]
    public async Task LabUpBuildsReachableHostsIsIdempotentAndDownRemovesEverything()
    {
        var id = Sh.Unique("l");
        var spec = SpecLoader.Parse($"""
            apiVersion: overlayctl/v1
            kind: Cluster
            name: {id}
            network:
              cidr: 10.244.0.0/16
            hosts:
              - name: a
                address: 192.0.2.21
                connection: netns://{id}-a
              - name: b
                address: 192.0.2.22
                connection: netns://{id}-b
              - name: c
                address: 192.0.2.23
                connection: netns://{id}-c
            """, "lab.yaml");
        var lab = new LabManager(new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));
        try
        {
            var up = await lab.UpAsync(spec, default);
            Assert.Contains($"netns {id}-a", up.Created);
            Assert.Equal(0, Sh.Run("ip", "netns", "exec", $"{id}-a", "ping", "-c1", "-w5", "192.0.2.23").ExitCode);
            Assert.Equal(0, Sh.Run("ip", "netns", "exec", $"{id}-c", "ping", "-c1", "-w5", "192.0.2.22").ExitCode);

            var again = await lab.UpAsync(spec, default);
            Assert.Empty(again.Created);

            var down = await lab.DownAsync(spec, default);
            Assert.Contains($"bridge {LabManager.BridgeName(spec)}", down.Removed);
            Assert.DoesNotContain($"{id}-", Sh.Must("ip", "netns", "list"), StringComparison.Ordinal);
            Assert.NotEqual(0, Sh.Run("ip", "link", "show", LabManager.BridgeName(spec)).ExitCode);
            Assert.Empty((await lab.DownAsync(spec, default)).Removed);
        }
        finally
        {
            await lab.DownAsync(spec, default);
        }
    }
}
