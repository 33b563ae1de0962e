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

    private sealed record Member(string Name, int ClientPort, int PeerPort, Process Process)
    {
        public Uri ClientUrl => new($"http://127.0.0.1:{ClientPort}");
    }

    private EtcdCluster() { }

    public IReadOnlyList<Uri> ClientUrls => _members.Select(m => m.ClientUrl).ToList();

    public Uri ClientUrl => _members[0].ClientUrl;

    public string Endpoints => string.Join(',', ClientUrls);

    public static async Task<EtcdCluster> StartAsync(int members = 1)
    {
        var cluster = new EtcdCluster();
        try
        {
            var ports = Enumerable.Range(0, members).Select(_ => (Client: FreePort(), Peer: FreePort())).ToList();
            var initial = string.Join(',', ports.Select((p, i) => $"m{i}=http://127.0.0.1:{p.Peer}"));
            for (var i = 0; i < members; i++)
            {
                var (client, peer) = ports[i];
                var start = new ProcessStartInfo("etcd") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[]
                {
                    "--name", $"m{i}", "--data-dir", Path.Combine(cluster._dir, $"m{i}"),
                    "--listen-client-urls", $"http://127.0.0.1:{client}", "--advertise-client-urls", $"http://127.0.0.1:{client}",
                    "--listen-peer-urls", $"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peer}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", Path.GetFileName(cluster._dir),
                    "--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "error",
                })
                    start.ArgumentList.Add(a);
                var process = Process.Start(start)!;
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                cluster._members.Add(new Member($"m{i}", client, peer, process));
            }
            foreach (var m in cluster._members) await WaitHealthyAsync(m.ClientUrl);
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
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

    private static async Task WaitHealthyAsync(Uri url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
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
