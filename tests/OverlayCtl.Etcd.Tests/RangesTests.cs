namespace OverlayCtl.Etcd.Tests;

[Collection(EtcdCollection.Name)]
public sealed class RangesTests(EtcdFixture etcd) : IDisposable
{
    private readonly EtcdGrpcClient _client = new(new EtcdClientOptions(etcd.Cluster.ClientUrls));
    private readonly string _prefix = EtcdFixture.UniquePrefix();

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task SeveralReadsInOneRequestSeeOneRevisionAndSkipWhatLiesBetween()
    {
        foreach (var key in new[] { "/config", "/overlayctl/hosts/a", "/subnets/x", "/subnets/y" })
            await _client.PutAsync(_prefix + key, "v", 0, default);
        var before = _client.RoundTrips;
        var results = await _client.RangesAsync([(_prefix + "/config", false), (_prefix + "/subnets/", true)], default);
        Assert.Equal(1, _client.RoundTrips - before);
        Assert.Equal([_prefix + "/config"], results[0].Kvs.Select(k => k.Key));
        Assert.Equal([_prefix + "/subnets/x", _prefix + "/subnets/y"], results[1].Kvs.Select(k => k.Key));
        Assert.Equal(results[0].Revision, results[1].Revision);
        Assert.Equal((await _client.RangeAsync(_prefix, prefix: true, default)).Revision, results[0].Revision);
    }
}
