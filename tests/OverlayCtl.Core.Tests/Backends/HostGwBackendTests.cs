using OverlayCtl.Core.Backends;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Backends;

/// <summary>host-gw: no keys, no device, no lease data, no overhead.</summary>
public sealed class HostGwBackendTests
{
    [Fact]
    public void HostGwReadsNoKeysButTheOthersKeysStillLoad()
    {
        var spec = SpecText.Load("  backend: host-gw\n  vni: 5\n  port: 4789");
        Assert.Empty(spec.Network.Backend.NetworkKeys);
        Assert.DoesNotContain("host-gw", spec.Network.Settings.Keys);
    }

    [Fact]
    public void TheLeaseCarriesNoBackendDataAndThereIsNoDevice()
    {
        var spec = Lab.Spec("host-gw");
        Assert.Equal(LeaseData.None, spec.Network.Backend.LeaseData(spec, spec.Hosts[0], null));
        Assert.Null(spec.Network.Backend.Device(spec));
        Assert.Equal(0, spec.Network.Backend.Overhead);
    }
}
