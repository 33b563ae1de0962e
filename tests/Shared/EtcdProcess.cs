using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OverlayCtl.Testing;

/// <summary>
/// A real etcd (Debian's etcd-server) on 127.0.0.1 with free ports and a temp data dir; one member or
/// a cluster of several. Killed by PID and its data removed on dispose, whatever the test did.
/// </summary>
public sealed class EtcdCluster : IDisposable
{
    private readonly List<Member> _members = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("overlayctl-etcd-").FullName;

    private sealed record Member(string Name, int ClientPort, int PeerPort, Process Process, string Scheme, ProcessStartInfo Start)
    {
        public Uri ClientUrl => new($"{Scheme}://127.0.0.1:{ClientPort}");

        public Uri PeerUrl => new($"http://127.0.0.1:{PeerPort}");
    }

    private EtcdCluster() { }

    /// <summary>Each member's peer URL: not a client endpoint, what an operator may paste by mistake.</summary>
    public IReadOnlyList<Uri> PeerUrls => _members.Select(m => m.PeerUrl).ToList();

    public IReadOnlyList<Uri> ClientUrls => _members.Select(m => m.ClientUrl).ToList();

    public Uri ClientUrl => _members[0].ClientUrl;

    public string Endpoints => string.Join(',', ClientUrls);

    /// <param name="members">how many members (they form one cluster)</param>
    /// <param name="tls">serve clients over TLS with these certificates, and demand a client certificate signed by their CA</param>
    /// <param name="extraArgs">more etcd flags, e.g. <c>--auth-token-ttl</c> or <c>--quota-backend-bytes</c></param>
    public static Task<EtcdCluster> StartAsync(int members = 1, TestCertificates? tls = null, params string[] extraArgs) =>
        StartAsync(members, tls, null, null, extraArgs);

    /// <summary>
    /// One member that also listens on <paramref name="address"/>:<paramref name="port"/> (an address the
    /// root namespace holds on a lab bridge), so agents inside namespace hosts reach it.
    /// </summary>
    public static Task<EtcdCluster> StartOnAsync(string address, int port) => StartAsync(1, null, address, [port], []);

    /// <summary>As <see cref="StartOnAsync(string, int)"/>, one member per port: a cluster agents can lose members of.</summary>
    public static Task<EtcdCluster> StartOnAsync(string address, IReadOnlyList<int> ports) => StartAsync(ports.Count, null, address, ports, []);

    /// <summary>A free TCP port on loopback now (for a spec written before its etcd starts).</summary>
    public static int FreeTcpPort() => FreePort();

    private static async Task<EtcdCluster> StartAsync(int members, TestCertificates? tls, string? alsoOn, IReadOnlyList<int>? clientPorts, string[] extraArgs)
    {
        var cluster = new EtcdCluster();
        try
        {
            var ports = Enumerable.Range(0, members).Select(i => (Client: clientPorts?[i] ?? FreePort(), Peer: FreePort())).ToList();
            var initial = string.Join(',', ports.Select((p, i) => $"m{i}=http://127.0.0.1:{p.Peer}"));
            for (var i = 0; i < members; i++)
            {
                var (client, peer) = ports[i];
                var scheme = tls is null ? "http" : "https";
                var start = new ProcessStartInfo("etcd") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[]
                {
                    "--name", $"m{i}", "--data-dir", Path.Combine(cluster._dir, $"m{i}"),
                    "--listen-client-urls", $"{scheme}://127.0.0.1:{client}" + (alsoOn is null ? "" : $",{scheme}://{alsoOn}:{client}"),
                    "--advertise-client-urls", $"{scheme}://127.0.0.1:{client}",
                    "--listen-peer-urls", $"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peer}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", Path.GetFileName(cluster._dir),
                    "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "error",
                }.Concat(tls is null ? [] : ["--cert-file", tls.ServerCert, "--key-file", tls.ServerKey, "--trusted-ca-file", tls.Ca, "--client-cert-auth"])
                 .Concat(extraArgs))
                    start.ArgumentList.Add(a);
                cluster._members.Add(new Member($"m{i}", client, peer, Launch(start), scheme, start));
            }
            foreach (var m in cluster._members) await WaitHealthyAsync(m.ClientUrl, tls);
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>Runs etcdctl (v3) against this cluster, as <paramref name="user"/> when given; throws when it fails.</summary>
    public string Etcdctl(string? user, params string[] args)
    {
        var start = new ProcessStartInfo("etcdctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--endpoints", Endpoints }.Concat(user is null ? [] : ["--user", user]).Concat(args)) start.ArgumentList.Add(a);
        start.Environment["ETCDCTL_API"] = "3";
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? stdout.Result : throw new InvalidOperationException($"etcdctl {string.Join(' ', args)}: {err}");
    }

    private static Process Launch(ProcessStartInfo start)
    {
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Starts every member that is not running again, on its data, and waits until all are healthy.</summary>
    public async Task RestartAsync()
    {
        for (var i = 0; i < _members.Count; i++)
        {
            if (!_members[i].Process.HasExited) continue;
            _members[i].Process.Dispose();
            _members[i] = _members[i] with { Process = Launch(_members[i].Start) };
        }
        foreach (var m in _members) await WaitHealthyAsync(m.ClientUrl, null);
    }

    /// <summary>Stops (SIGSTOP) or resumes (SIGCONT) one member: a member that accepts connections and never answers.</summary>
    public void Freeze(int member, bool frozen = true)
    {
        using var kill = Process.Start("kill", [frozen ? "-STOP" : "-CONT", _members[member].Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
    }

    /// <summary>Kills one member (SIGKILL), as a crashed node.</summary>
    public void Kill(int member)
    {
        var p = _members[member].Process;
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        p.WaitForExit();
    }

    public void Dispose()
    {
        foreach (var m in _members)
        {
            try
            {
                if (!m.Process.HasExited) m.Process.Kill(entireProcessTree: true);
                m.Process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
            }
            m.Process.Dispose();
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitHealthyAsync(Uri url, TestCertificates? tls)
    {
        using var handler = new HttpClientHandler();
        if (tls is not null)
        {
            // Only to poll /health: the server is ours, its certificate is what the tests examine.
            handler.ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator;
            handler.ClientCertificates.Add(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(tls.ClientCert, tls.ClientKey));
        }
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(1) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var r = await http.GetAsync(new Uri(url, "/health"));
                if (r.IsSuccessStatusCode && (await r.Content.ReadAsStringAsync()).Contains("true", StringComparison.Ordinal)) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"etcd at {url} did not become healthy within 10 s");
    }
}
