using OverlayCtl.Core.Leases;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Etcd.Tests;

/// <summary>An etcd that serves TLS and demands a client certificate signed by its CA.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private static readonly NetworkConfig Config = new(
        Ipv4Cidr.Parse("10.245.0.0/16"), 24, Ipv4Address.Parse("10.245.1.0"), Ipv4Address.Parse("10.245.255.0"), "vxlan", 1, 8472);

    private TestCertificates _certs = null!;
    private EtcdCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _certs = TestCertificates.Create();
        _cluster = await EtcdCluster.StartAsync(1, _certs);
    }

    public Task DisposeAsync()
    {
        _cluster.Dispose();
        _certs.Dispose();
        return Task.CompletedTask;
    }

    private EtcdLeaseStore Store(TlsSpec tls, out EtcdGrpcClient client)
    {
        client = new EtcdGrpcClient(new EtcdClientOptions(_cluster.ClientUrls, tls));
        return new EtcdLeaseStore(client, "/tls/network");
    }

    [Fact]
    public async Task TheCaAndAClientCertificateAllocateOverTls()
    {
        var store = Store(new TlsSpec(_certs.Ca, _certs.ClientCert, _certs.ClientKey), out var client);
        using (client)
        {
            await store.EnsureConfigAsync(Config, default);
            var lease = Assert.Single(await store.AcquireAsync(Config, [new LeaseRequest(Ipv4Address.Parse("192.0.2.1"), null, "vxlan", 1, null, "a")], default));
            Assert.Equal("10.245.1.0/24", lease.Subnet.ToString());
        }
    }

    [Fact]
    public async Task WithoutAClientCertificateEtcdRefusesTheHandshake()
    {
        var store = Store(new TlsSpec(_certs.Ca, null, null), out var client);
        using (client)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => store.ListAsync(default));
            Assert.True(e is StoreRefusedException or StoreUnavailableException, e.GetType().Name);
            Assert.Contains(_cluster.ClientUrl.ToString(), e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AServerSignedByAnotherCaIsNotTrusted()
    {
        var other = _certs.SelfSigned("other-ca", "/CN=someone-else");
        var store = Store(new TlsSpec(other, _certs.ClientCert, _certs.ClientKey), out var client);
        using (client)
        {
            var e = await Assert.ThrowsAsync<StoreRefusedException>(() => store.ListAsync(default));
            Assert.Contains("TLS handshake failed", e.Message, StringComparison.Ordinal);
        }
    }
}
