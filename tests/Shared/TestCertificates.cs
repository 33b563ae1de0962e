namespace OverlayCtl.Testing;

/// <summary>
/// A throw-away PKI made with openssl at test time: a CA, a server certificate for 127.0.0.1 and a
/// client certificate, all signed by it. Removed on dispose.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string dir) => Dir = dir;

    public string Dir { get; }

    public string Ca => Path.Combine(Dir, "ca.crt");

    public string ServerCert => Path.Combine(Dir, "server.crt");

    public string ServerKey => Path.Combine(Dir, "server.key");

    public string ClientCert => Path.Combine(Dir, "client.crt");

    public string ClientKey => Path.Combine(Dir, "client.key");

    public static TestCertificates Create()
    {
        var certs = new TestCertificates(Directory.CreateTempSubdirectory("overlayctl-pki-").FullName);
        try
        {
            certs.SelfSigned("ca", "/CN=overlayctl-test-ca");
            certs.Signed("server", "/CN=etcd", "subjectAltName=IP:127.0.0.1,DNS:localhost");
            certs.Signed("client", "/CN=root", "extendedKeyUsage=clientAuth");
            return certs;
        }
        catch
        {
            certs.Dispose();
            throw;
        }
    }

    /// <summary>A CA of its own, unrelated to this one: what a server signed by someone else presents.</summary>
    public string SelfSigned(string name, string subject)
    {
        MakeSelfSigned(Path.Combine(Dir, name + ".key"), Path.Combine(Dir, name + ".crt"), subject);
        return Path.Combine(Dir, name + ".crt");
    }

    /// <summary>A self-signed certificate and its key (EC: generated in milliseconds, unlike RSA).</summary>
    public static void MakeSelfSigned(string keyPath, string certPath, string subject) =>
        Sh.Must("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", keyPath, "-out", certPath, "-subj", subject, "-days", "2");

    private void Signed(string name, string subject, string extension)
    {
        var (key, csr, crt) = (Path.Combine(Dir, name + ".key"), Path.Combine(Dir, name + ".csr"), Path.Combine(Dir, name + ".crt"));
        Sh.Must("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", csr, "-subj", subject, "-addext", extension);
        Sh.Must("openssl", "x509", "-req", "-in", csr, "-CA", Ca, "-CAkey", Path.Combine(Dir, "ca.key"), "-CAcreateserial",
            "-out", crt, "-days", "2", "-copy_extensions", "copy");
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
