using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OverlayCtl.Core;
using OverlayCtl.Core.Files;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Etcd;

/// <summary>
/// Turns the TLS paths (<c>--cacert</c>/<c>--cert</c>/<c>--key</c>, their <c>$ETCDCTL_*</c> variables or
/// the spec's <c>etcd.tls</c>) into certificates, checked before any connection: every file exists, is a
/// regular file and holds PEM; the key belongs to the certificate. A bad file is an
/// <see cref="InputException"/> naming the file, where it came from, the cause and the fix, instead of a
/// TLS handshake failure (or an OpenSSL error) later.
/// </summary>
public static class EtcdTls
{
    /// <summary>The certificates for <paramref name="tls"/>; null when no TLS file is named.</summary>
    public static EtcdTlsMaterial? Load(TlsSpec? tls)
    {
        if (tls is null || (tls.Ca is null && tls.Cert is null && tls.Key is null)) return null;
        const string BothOrNeither = "(fix: give both --cert and --key, or neither)";
        if (tls.Cert is null && tls.Key is not null) throw new InputException($"{tls.Key} ({tls.KeySource}) is a client key, but no client certificate is given {BothOrNeither}");
        if (tls.Key is null && tls.Cert is not null) throw new InputException($"{tls.Cert} ({tls.CertSource}) is a client certificate, but no key is given {BothOrNeither}");
        var cas = tls.Ca is null ? null : LoadCas(tls.Ca, tls.CaSource);
        var client = tls.Cert is null || tls.Key is null ? null : LoadClient(tls.Cert, tls.CertSource, tls.Key, tls.KeySource);
        return new EtcdTlsMaterial(cas, client);
    }

    private static X509Certificate2Collection LoadCas(string path, string source)
    {
        var pem = Read(path, source, "CA bundle");
        var cas = new X509Certificate2Collection();
        try
        {
            cas.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw Bad(source, path, $"holds a malformed certificate ({e.Message})", "point it at the PEM CA bundle etcd's certificates are signed with", e);
        }
        if (cas.Count == 0)
            throw Bad(source, path, "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)", "point it at the PEM CA bundle etcd's certificates are signed with (a DER file converts with: openssl x509 -inform der -in FILE -out FILE.pem)");
        return cas;
    }

    private static X509Certificate2 LoadClient(string certPath, string certSource, string keyPath, string keySource)
    {
        var certPem = Read(certPath, certSource, "client certificate");
        var keyPem = Read(keyPath, keySource, "client key");
        try
        {
            X509Certificate2.CreateFromPem(certPem).Dispose();
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw Bad(certSource, certPath, "is not a PEM certificate", "point it at the client certificate (-----BEGIN CERTIFICATE-----) etcd's CA signed", e);
        }
        if (!HasPrivateKey(keyPem, out var encrypted))
        {
            throw encrypted
                ? Bad(keySource, keyPath, "is an encrypted key", "decrypt it (openssl pkey -in KEY -out KEY.plain) and keep it readable by root only")
                : Bad(keySource, keyPath, "holds no PEM private key (no -----BEGIN PRIVATE KEY----- block)", "point it at the private key of the client certificate");
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InputException($"{keyPath} ({keySource}) is not the key of the certificate {certPath} ({certSource}) (fix: pass the key made with that certificate)", e);
        }
        if (!KeyIsUsable(certificate))
        {
            certificate.Dispose();
            throw new InputException($"{keyPath} ({keySource}) cannot sign for the certificate {certPath} ({certSource}): it is not its key, or not an RSA or ECDSA key (fix: pass the RSA or ECDSA key made with that certificate)");
        }
        return certificate;
    }

    private static string Read(string path, string source, string what)
    {
        if (RegularFile.TryReadText(path, out var text, out var problem)) return text;
        throw Bad(source, path, problem, $"point {source.Split(' ')[0]} at the {what} (a PEM file)");
    }

    private static bool HasPrivateKey(string pem, out bool encrypted)
    {
        encrypted = false;
        var rest = pem.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label];
            if (label is "PRIVATE KEY" or "RSA PRIVATE KEY" or "EC PRIVATE KEY") return true;
            if (label is "ENCRYPTED PRIVATE KEY") encrypted = true;
            rest = rest[fields.Location.End..];
        }
        return false;
    }

    /// <summary>Signs with the private key and verifies with the certificate: the pair works, not merely parses.</summary>
    private static bool KeyIsUsable(X509Certificate2 certificate)
    {
        var data = "overlayctl"u8.ToArray();
        using var rsa = certificate.GetRSAPrivateKey();
        if (rsa is not null)
        {
            using var rsaPublic = certificate.GetRSAPublicKey()!;
            return rsaPublic.VerifyData(data, rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        using var ecdsa = certificate.GetECDsaPrivateKey();
        if (ecdsa is null) return false;
        using var ecdsaPublic = certificate.GetECDsaPublicKey()!;
        return ecdsaPublic.VerifyData(data, ecdsa.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256);
    }

    private static InputException Bad(string source, string path, string problem, string fix, Exception? inner = null) =>
        new($"{path} ({source}): {problem} (fix: {fix})", inner);
}

/// <summary>
/// What a TLS connection to etcd needs: the CAs to trust for etcd's certificate (null: the system's) and
/// the client certificate with its private key (null: none).
/// </summary>
public sealed record EtcdTlsMaterial(X509Certificate2Collection? TrustedCas, X509Certificate2? ClientCertificate) : IDisposable
{
    public void Dispose()
    {
        ClientCertificate?.Dispose();
        foreach (var ca in TrustedCas ?? []) ca.Dispose();
    }
}
