namespace OverlayCtl.Testing;

/// <summary>
/// A temporary directory with the awkward inputs error tests need, made at test time and removed after:
/// PEM files made by openssl (a CA, a client certificate with its key, a key of another pair, garbage),
/// a FIFO, a file over the 1 MiB input limit.
/// </summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("overlayctl-test-").FullName;
        Directory.CreateDirectory(Combine("a-directory"));
        File.WriteAllText(Combine("garbage.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        File.WriteAllText(Combine("not-pem.txt"), "hello\n");
        File.WriteAllBytes(Combine("big.yaml"), new byte[(1024 * 1024) + 1]);
        Sh.Must("mkfifo", Combine("fifo"));
        TestCertificates.MakeSelfSigned(Combine("ca-key.pem"), Combine("ca.pem"), "/CN=overlayctl-test-ca");
        TestCertificates.MakeSelfSigned(Combine("client-key.pem"), Combine("client.pem"), "/CN=overlayctl-test-client");
        File.WriteAllText(Combine("bundle.pem"), File.ReadAllText(Combine("ca.pem")) + File.ReadAllText(Combine("client.pem")));
    }

    public string Path { get; }

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Replaces "{dir}" in test arguments with this directory.</summary>
    public string[] Expand(IEnumerable<string> args) => [.. args.Select(a => a.Replace("{dir}", Path, StringComparison.Ordinal))];

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
