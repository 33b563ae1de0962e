using OverlayCtl.Core;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Etcd.Tests;

public sealed class EtcdTlsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void NoFilesMeanNoTls()
    {
        Assert.Null(EtcdTls.Load(null));
        Assert.Null(EtcdTls.Load(new TlsSpec(null, null, null)));
    }

    [Fact]
    public void ACaBundleLoadsEveryCertificateAndAMatchingPairLoadsWithItsKey()
    {
        var material = EtcdTls.Load(new TlsSpec(_dir.Combine("bundle.pem"), _dir.Combine("client.pem"), _dir.Combine("client-key.pem")))!;
        Assert.Equal(2, material.TrustedCas!.Count);
        Assert.True(material.ClientCertificate!.HasPrivateKey);
        Assert.Equal("CN=overlayctl-test-client", material.ClientCertificate.Subject);
    }

    [Fact]
    public void ACaAloneNeedsNoClientPair() =>
        Assert.Null(EtcdTls.Load(new TlsSpec(_dir.Combine("ca.pem"), null, null))!.ClientCertificate);

    [Theory]
    [InlineData("{dir}/nosuch.pem", null, null, "{dir}/nosuch.pem (--cacert): no such file (fix: point --cacert at the CA bundle (a PEM file))")]
    [InlineData("{dir}/fifo", null, null, "{dir}/fifo (--cacert): is a pipe (FIFO), not a regular file")]
    [InlineData("{dir}/not-pem.txt", null, null, "{dir}/not-pem.txt (--cacert): holds no PEM certificate")]
    [InlineData(null, "{dir}/client.pem", "{dir}/ca-key.pem", "{dir}/ca-key.pem (--key) is not the key of the certificate {dir}/client.pem (--cert)")]
    [InlineData(null, "{dir}/client-key.pem", "{dir}/client-key.pem", "{dir}/client-key.pem (--cert): is not a PEM certificate")]
    [InlineData(null, "{dir}/client.pem", null, "{dir}/client.pem (--cert) is a client certificate, but no key is given (fix: give both --cert and --key, or neither)")]
    public void ABadFileIsRefusedNamingItsSourceTheCauseAndTheFix(string? ca, string? cert, string? key, string expected)
    {
        string? Expand(string? path) => path is null ? null : _dir.Expand([path])[0];
        var tls = new TlsSpec(Expand(ca), Expand(cert), Expand(key)) { CaSource = "--cacert", CertSource = "--cert", KeySource = "--key" };
        var e = Assert.Throws<InputException>(() => EtcdTls.Load(tls));
        Assert.StartsWith(Expand(expected), e.Message, StringComparison.Ordinal);
    }
}
