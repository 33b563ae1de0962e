using System.Security.Cryptography.X509Certificates;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Etcd;

/// <summary>The TLS material for etcd, loaded and checked once.</summary>
public sealed record EtcdTlsMaterial(X509Certificate2Collection? TrustedCas, X509Certificate2? ClientCertificate);

/// <summary>Loads the CA bundle and client certificate named by the spec or the flags.</summary>
public static class EtcdTls
{
    public static EtcdTlsMaterial? Load(TlsSpec? tls)
    {
        if (tls is null || (tls.Ca is null && tls.Cert is null && tls.Key is null)) return null;
        X509Certificate2Collection? cas = null;
        if (tls.Ca is not null)
        {
            cas = [];
            cas.ImportFromPemFile(tls.Ca);
        }
        var client = tls.Cert is not null && tls.Key is not null ? X509Certificate2.CreateFromPemFile(tls.Cert, tls.Key) : null;
        return new EtcdTlsMaterial(cas, client);
    }
}
