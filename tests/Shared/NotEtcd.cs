namespace OverlayCtl.Testing;

/// <summary>An HTTP/1.1 server that answers everything with "404 page not found", as a wrong port would.</summary>
public sealed class NotEtcd : IDisposable
{
    private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public NotEtcd()
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                await socket.SendAsync("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\n404 page not found\n"u8.ToArray());
                socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            }
        });
    }

    public Uri Url => new($"http://127.0.0.1:{((System.Net.IPEndPoint)_listener.LocalEndpoint).Port}");

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
