using OverlayCtl.Cli.Tests.Support;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// Real etcds that answer in every way but "yes": auth without a user, a wrong password, a user without
/// write access, the NOSPACE alarm, a server that is not etcd, TLS against plain etcd, malformed values.
/// Each ends in its documented exit code with the cause and the fix, and no stack trace, with or without -v.
/// </summary>
public sealed class EtcdErrorCasesTests(EtcdErrorCasesTests.Etcds etcds) : IClassFixture<EtcdErrorCasesTests.Etcds>
{
    /// <summary>The etcds the cases run against, started once for the class.</summary>
    public sealed class Etcds : IAsyncLifetime
    {
        public EtcdCluster Auth { get; private set; } = null!;
        public EtcdCluster Full { get; private set; } = null!;
        public EtcdCluster Plain { get; private set; } = null!;
        public NotEtcd NotEtcd { get; } = new();
        public string Dir { get; } = Directory.CreateTempSubdirectory("overlayctl-etcd-errors-").FullName;

        public async Task InitializeAsync()
        {
            Auth = await EtcdCluster.StartAsync();
            foreach (var args in new[]
            {
                new[] { "user", "add", "root:s3cret" }, ["user", "add", "reader:r3ad"], ["role", "add", "readonly"],
                ["role", "grant-permission", "readonly", "--prefix=true", "read", "/e/"], ["user", "grant-role", "reader", "readonly"],
                ["auth", "enable"],
            })
                Auth.Etcdctl(null, args);
            Full = await EtcdCluster.StartAsync(1, null, "--quota-backend-bytes", "200000");
            var filler = Path.Combine(Dir, "filler");
            await File.WriteAllTextAsync(filler, new string('x', 100_000));
            // The quota is checked against the backend's size, which grows as batches commit: write until the alarm.
            for (var i = 0; i < 100 && !Full.Etcdctl(null, "alarm", "list").Contains("NOSPACE", StringComparison.Ordinal); i++)
                Sh.Run("sh", "-c", "ETCDCTL_API=3 etcdctl --endpoints \"$1\" put \"/filler/$2\" < \"$3\"", "sh", Full.Endpoints, i.ToString(System.Globalization.CultureInfo.InvariantCulture), filler);
            Assert.Contains("NOSPACE", Full.Etcdctl(null, "alarm", "list"), StringComparison.Ordinal);
            Plain = await EtcdCluster.StartAsync();
            Plain.Etcdctl(null, "put", "/e/network/config", "42");
            Plain.Etcdctl(null, "put", "/e/network/subnets/10.230.9.0-24", "[]");
            Plain.Etcdctl(null, "put", "/gc/network/subnets/10.230.8.0-24", "[]");
        }

        public Task DisposeAsync()
        {
            Auth.Dispose();
            Full.Dispose();
            Plain.Dispose();
            NotEtcd.Dispose();
            Directory.Delete(Dir, recursive: true);
            return Task.CompletedTask;
        }

        /// <summary>A spec naming <paramref name="endpoints"/> and <paramref name="prefix"/>.</summary>
        public string Spec(string endpoints, string prefix = "/e/network")
        {
            var path = Path.Combine(Dir, Guid.NewGuid().ToString("N") + ".yaml");
            File.WriteAllText(path, $"""
                apiVersion: overlayctl/v1
                kind: Cluster
                name: errors
                etcd:
                  endpoints: [{endpoints}]
                  prefix: {prefix}
                network:
                  cidr: 10.230.0.0/16
                hosts:
                  - name: n1
                    address: 198.18.0.11
                """);
            return path;
        }
    }

    public static TheoryData<string, int, string> Cases => new()
    {
        { "auth on, no user", 3, "user name is empty (etcd has auth enabled: give --user, or set OVERLAYCTL_USER / OVERLAYCTL_PASSWORD)" },
        { "a wrong password", 3, "refused authentication as 'root'" },
        { "a user who may only read", 3, "permission denied (the etcd user lacks a role with read-write access to this prefix" },
        { "NOSPACE", 3, "database space exceeded (etcd's NOSPACE alarm: compact and defragment it, then etcdctl alarm disarm)" },
        { "not an etcd", 3, "not an etcd client URL?" },
        { "not an etcd, then an etcd", 0, "10.230.9.0/24 is treated as taken" },
        { "https against plain etcd", 3, "TLS handshake failed" },
        { "malformed values, gc", 0, "deleted unreadable /gc/network/subnets/10.230.8.0-24" },
    };

    private string[] Args(string name) => name switch
    {
        "auth on, no user" => ["leases", "list", "--endpoints", etcds.Auth.Endpoints, "--prefix", "/e/network"],
        "a wrong password" => ["leases", "list", "--endpoints", etcds.Auth.Endpoints, "--prefix", "/e/network", "--user", "root:WRONG-PW"],
        "a user who may only read" => ["leases", "allocate", "-f", etcds.Spec(etcds.Auth.Endpoints), "--user", "reader:r3ad"],
        "NOSPACE" => ["leases", "allocate", "-f", etcds.Spec(etcds.Full.Endpoints)],
        "not an etcd" => ["leases", "list", "--endpoints", etcds.NotEtcd.Url.ToString(), "--prefix", "/e/network"],
        "not an etcd, then an etcd" => ["leases", "list", "--endpoints", $"{etcds.NotEtcd.Url},{etcds.Plain.Endpoints}", "--prefix", "/e/network"],
        "https against plain etcd" => ["leases", "list", "--endpoints", etcds.Plain.Endpoints.Replace("http://", "https://", StringComparison.Ordinal), "--prefix", "/e/network"],
        "malformed values, gc" => ["leases", "gc", "--yes", "-f", etcds.Spec(etcds.Plain.Endpoints, "/gc/network")],
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task EachEtcdAnswerEndsInItsExitCodeWithTheCauseAndNoStackTrace(string name, int exit, string expected)
    {
        // gc deletes what it reports: the verbose run would find nothing left to say.
        foreach (var verbose in name == "malformed values, gc" ? new[] { false } : [false, true])
        {
            var args = Args(name);
            var run = await CliRun.RunAsync(verbose ? [.. args, "-v"] : args);
            var output = run.Stdout + run.Stderr;
            Assert.True(exit == run.ExitCode, run.ToString());
            Assert.Contains(expected, output, StringComparison.Ordinal);
            foreach (var leak in new[] { "   at ", "Unhandled exception", "System.", "Exception", "WRONG-PW" })
                Assert.False(output.Contains(leak, StringComparison.Ordinal), $"'{leak}' printed:\n{run}");
        }
    }
}
