using OverlayCtl.Core.Diagnostics;
using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Tests.Support;

namespace OverlayCtl.Core.Tests.Diagnostics;

public sealed class DoctorLeaseTests
{
    [Fact]
    public void UnreadableKeysAndAMalformedConfigAreErrorsWithTheWayToDeleteThem()
    {
        var spec = Lab.Spec();
        var snapshot = new LeaseSnapshot(null, "/p/config holds something that is not a flannel network config: 42",
            [Lab.LeaseOf(spec, 1)],
            [new UnreadableLease("/p/subnets/10.244.9.0-24", Ipv4Cidr.Parse("10.244.9.0/24"), "the value is a JSON array, not flannel's lease object")],
            7);
        var findings = Doctor.CheckLeases(spec, snapshot);
        Assert.Equal(2, findings.Count);
        Assert.All(findings, f => Assert.Equal(Severity.Error, f.Severity));
        Assert.Contains("not a flannel network config", findings[0].Problem, StringComparison.Ordinal);
        Assert.Contains("10.244.9.0/24 is treated as taken", findings[1].Problem, StringComparison.Ordinal);
        Assert.Contains("leases release -f SPEC --key /p/subnets/10.244.9.0-24", findings[1].Fix, StringComparison.Ordinal);
    }
}
