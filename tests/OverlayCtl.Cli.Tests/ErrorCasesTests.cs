using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Every way an operator can get the input wrong ends in a documented exit code and a message with the
/// cause and the fix, never a stack trace, with or without -v. One row per case: "{dir}" is a
/// temporary directory holding the awkward files (<see cref="TempDir"/>); etcd cases add rows here.
/// </summary>
public sealed class ErrorCasesTests : IDisposable
{
    private const string Spec = "{dir}/spec.yaml";
    private readonly TempDir _dir = new();

    public ErrorCasesTests()
    {
        File.Copy(Path.Combine(Golden.RepoRoot(), "samples", "lab.yaml"), _dir.Combine("spec.yaml"));
        File.WriteAllText(_dir.Combine("two-documents.yaml"), "a:\n  - b\n---\n: : :\n");
        File.WriteAllText(_dir.Combine("deep.yaml"), "name: " + new string('[', 100_000));
        File.WriteAllText(_dir.Combine("missing-ca.yaml"),
            File.ReadAllText(_dir.Combine("spec.yaml")).Replace("\nnetwork:", "\n  tls: { ca: /nonexistent/ca.pem }\nnetwork:", StringComparison.Ordinal));
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    // The spec file
    [InlineData(1, "/etc: is a directory, not a file", "validate", "-f", "/etc")]
    [InlineData(1, "nosuch.yaml: no such file (fix:", "validate", "-f", "nosuch.yaml")]
    [InlineData(1, "'': empty path", "validate", "-f", "")]
    [InlineData(1, "/dev/zero: is a character device", "validate", "-f", "/dev/zero")]
    [InlineData(1, "{dir}/fifo: is a pipe (FIFO)", "validate", "-f", "{dir}/fifo")]
    [InlineData(1, "{dir}/big.yaml: is larger than 1 MiB", "validate", "-f", "{dir}/big.yaml")]
    [InlineData(1, "{dir}/two-documents.yaml:3:1: a second YAML document starts here", "validate", "-f", "{dir}/two-documents.yaml")]
    [InlineData(1, "{dir}/deep.yaml:1:38: lists and mappings are nested more than 32 deep", "validate", "-f", "{dir}/deep.yaml")]
    // TLS files, from flags and from the spec
    [InlineData(1, "/nonexistent.pem (--cacert): no such file", "validate", "-f", Spec, "--cacert", "/nonexistent.pem")]
    [InlineData(1, "{dir}/a-directory (--cacert): is a directory", "validate", "-f", Spec, "--cacert", "{dir}/a-directory")]
    [InlineData(1, "{dir}/not-pem.txt (--cacert): holds no PEM certificate", "validate", "-f", Spec, "--cacert", "{dir}/not-pem.txt")]
    [InlineData(1, "{dir}/garbage.pem (--cacert): holds a malformed certificate", "validate", "-f", Spec, "--cacert", "{dir}/garbage.pem")]
    [InlineData(1, "{dir}/garbage.pem (--cert): is not a PEM certificate", "validate", "-f", Spec, "--cert", "{dir}/garbage.pem", "--key", "{dir}/client-key.pem")]
    [InlineData(1, "{dir}/ca-key.pem (--key) is not the key of the certificate {dir}/client.pem (--cert)", "validate", "-f", Spec, "--cert", "{dir}/client.pem", "--key", "{dir}/ca-key.pem")]
    [InlineData(1, "{dir}/client.pem (--key): holds no PEM private key", "validate", "-f", Spec, "--cert", "{dir}/client.pem", "--key", "{dir}/client.pem")]
    [InlineData(1, "{dir}/client.pem (--cert) is a client certificate, but no key is given", "validate", "-f", Spec, "--cert", "{dir}/client.pem")]
    [InlineData(1, "{dir}/client-key.pem (--key) is a client key, but no client certificate is given", "validate", "-f", Spec, "--key", "{dir}/client-key.pem")]
    [InlineData(1, "/nonexistent/ca.pem (etcd.tls.ca in {dir}/missing-ca.yaml:9:14): no such file", "validate", "-f", "{dir}/missing-ca.yaml")]
    [InlineData(1, "/nonexistent.pem (--cacert): no such file", "leases", "list", "--endpoints", "http://127.0.0.1:1", "--cacert", "/nonexistent.pem")]
    // Endpoints, user, timeouts
    [InlineData(1, "the endpoint http://127.0.0.1:1 carries credentials", "leases", "list", "--endpoints", "http://user:S3CRET-PW@127.0.0.1:1", "--log-file", "{dir}/audit.log")]
    [InlineData(1, "the endpoint http://127.0.0.1:1/v3 has a path", "leases", "list", "--endpoints", "http://127.0.0.1:1/v3")]
    [InlineData(1, "'http://***@[bad:1' is not an etcd endpoint", "leases", "list", "--endpoints", "http://user:S3CRET-PW@[bad:1")]
    [InlineData(1, "--user names the etcd user 'root' but no password is given", "validate", "-f", Spec, "--user", "root")]
    [InlineData(1, "--dial-timeout '2x' is not a duration", "validate", "-f", Spec, "--dial-timeout", "2x")]
    [InlineData(1, "--command-timeout '-5s' is not a duration", "validate", "-f", Spec, "--command-timeout=-5s")]
    // The log file
    [InlineData(1, "--log-file {dir}/missing/x.log: {dir}/missing does not exist", "validate", "-f", Spec, "--log-file", "{dir}/missing/x.log")]
    [InlineData(1, "--log-file {dir}/a-directory: is a directory", "validate", "-f", Spec, "--log-file", "{dir}/a-directory")]
    // agent install: what it copies, checked before any host is touched
    [InlineData(1, "this overlayctl runs on the .NET runtime, not as the native binary a host runs (fix: build it with scripts/native.sh", "agent", "install", "-f", Spec, "--dry-run")]
    [InlineData(1, "--binary {dir}/fifo: is a pipe (FIFO)", "agent", "install", "-f", Spec, "--binary", "{dir}/fifo")]
    [InlineData(1, "--binary {dir}/nosuch: no such file", "agent", "install", "-f", Spec, "--binary", "{dir}/nosuch")]
    [InlineData(1, "--password-file {dir}/nosuch: no such file", "agent", "install", "-f", Spec, "--binary", "{dir}/big.yaml", "--user", "agent", "--password-file", "{dir}/nosuch")]
    [InlineData(1, "--root relative is not an absolute path", "agent", "uninstall", "-f", Spec, "--root", "relative")]
    public async Task EachFailureExitsWithItsCodeAndSaysWhyWithoutAStackTrace(int exit, string expected, params string[] args)
    {
        foreach (var verbose in new[] { false, true })
        {
            var run = await CliRun.RunAsync(_dir.Expand(verbose ? [.. args, "-v"] : args));
            var output = run.Stdout + run.Stderr;
            Assert.True(exit == run.ExitCode, run.ToString());
            Assert.Contains(_dir.Expand([expected])[0], output, StringComparison.Ordinal);
            foreach (var leak in new[] { "   at ", "Unhandled exception", "System.", "Exception", "S3CRET-PW" })
                Assert.False(output.Contains(leak, StringComparison.Ordinal), $"'{leak}' printed:\n{run}");
        }
        if (File.Exists(_dir.Combine("audit.log")))
            Assert.DoesNotContain("S3CRET-PW", await File.ReadAllTextAsync(_dir.Combine("audit.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailureIsRecordedInTheLogFileToo()
    {
        var run = await CliRun.RunAsync(_dir.Expand(["validate", "-f", Spec, "--cacert", "/nonexistent.pem", "--log-file", "{dir}/audit.log"]));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("/nonexistent.pem (--cacert): no such file", await File.ReadAllTextAsync(_dir.Combine("audit.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AValidSpecWithReadableTlsFilesPassesValidate()
    {
        var run = await CliRun.RunAsync(_dir.Expand(["validate", "-f", Spec, "--cacert", "{dir}/bundle.pem", "--cert", "{dir}/client.pem", "--key", "{dir}/client-key.pem",
            "--user", "root:pw", "--dial-timeout", "500ms", "--command-timeout", "1m30s"]));
        Assert.True(run.ExitCode == 0, run.ToString());
    }
}
