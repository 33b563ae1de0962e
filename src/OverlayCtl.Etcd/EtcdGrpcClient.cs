using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OverlayCtl.Core.Leases;

namespace OverlayCtl.Etcd;

/// <summary>
/// etcd v3 over gRPC, its native API, through dotnet-etcd. One channel per endpoint, made on first use;
/// requests stay on the endpoint that last answered and move to the next one only when an endpoint
/// cannot serve (down, timed out, no leader, not an etcd). A refusal (auth, permission, NOSPACE) is
/// final: every member would refuse the same way.
/// </summary>
public sealed class EtcdGrpcClient : IEtcdClient, IDisposable
{
    private readonly EtcdClientOptions _options;
    private readonly Endpoint[] _endpoints;
    private readonly EtcdTlsMaterial? _tls;
    private int _current;
    private long _roundTrips;

    public EtcdGrpcClient(EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0) throw new ArgumentException("at least one etcd endpoint is needed", nameof(options));
        _options = options;
        // Read (and checked) here, once: a bad file is refused before anything connects.
        _tls = EtcdTls.Load(options.Tls);
        _endpoints = options.Endpoints.Select(uri => new Endpoint(uri)).ToArray();
    }

    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    public Task<RangeResult> RangeAsync(string key, bool prefix, CancellationToken cancellationToken)
    {
        var request = new RangeRequest { Key = Bytes(key) };
        if (prefix) request.RangeEnd = PrefixEnd(key);
        return CallAsync("read " + key, async (e, headers, deadline, ct) =>
        {
            var response = await e.Client.GetAsync(request, headers, deadline, ct).ConfigureAwait(false);
            return new RangeResult(response.Kvs.Select(ToKeyValue).ToList(), response.Header.Revision);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<RangeResult>> RangesAsync(IReadOnlyList<(string Key, bool Prefix)> reads, CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        foreach (var (key, prefix) in reads)
        {
            var range = new RangeRequest { Key = Bytes(key) };
            if (prefix) range.RangeEnd = PrefixEnd(key);
            request.Success.Add(new RequestOp { RequestRange = range });
        }
        return CallAsync("read " + string.Join(", ", reads.Select(r => r.Key)), async (e, headers, deadline, ct) =>
        {
            var response = await e.Client.TransactionAsync(request, headers, deadline, ct).ConfigureAwait(false);
            return (IReadOnlyList<RangeResult>)response.Responses
                .Select(r => new RangeResult(r.ResponseRange.Kvs.Select(ToKeyValue).ToList(), response.Header.Revision))
                .ToList();
        }, cancellationToken);
    }

    public Task PutAsync(string key, string value, long lease, CancellationToken cancellationToken) =>
        CallAsync("write " + key, (e, headers, deadline, ct) =>
            e.Client.PutAsync(new PutRequest { Key = Bytes(key), Value = Bytes(value), Lease = lease }, headers, deadline, ct), cancellationToken);

    public Task<bool> TxnAsync(IReadOnlyList<TxnCompare> compares, IReadOnlyList<TxnOp> success, CancellationToken cancellationToken)
    {
        var request = new TxnRequest();
        foreach (var compare in compares)
        {
            request.Compare.Add(compare switch
            {
                TxnCompare.Absent a => new Compare { Key = Bytes(a.Key), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 },
                TxnCompare.ModRevisionIs m => new Compare { Key = Bytes(m.Key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = m.Revision },
                _ => throw new ArgumentOutOfRangeException(nameof(compares)),
            });
        }
        foreach (var op in success)
        {
            request.Success.Add(op switch
            {
                TxnOp.Put p => new RequestOp { RequestPut = new PutRequest { Key = Bytes(p.Key), Value = Bytes(p.Value), Lease = p.Lease } },
                TxnOp.Delete d => new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = Bytes(d.Key) } },
                _ => throw new ArgumentOutOfRangeException(nameof(success)),
            });
        }
        return CallAsync("transaction on " + (compares.Count > 0 ? compares[0].Key : "etcd"), async (e, headers, deadline, ct) =>
            (await e.Client.TransactionAsync(request, headers, deadline, ct).ConfigureAwait(false)).Succeeded, cancellationToken);
    }

    public Task<long> DeleteAsync(string key, bool prefix, CancellationToken cancellationToken)
    {
        var request = new DeleteRangeRequest { Key = Bytes(key) };
        if (prefix) request.RangeEnd = PrefixEnd(key);
        return CallAsync("delete " + key, async (e, headers, deadline, ct) =>
            (await e.Client.DeleteAsync(request, headers, deadline, ct).ConfigureAwait(false)).Deleted, cancellationToken);
    }

    public Task<long> LeaseGrantAsync(TimeSpan ttl, CancellationToken cancellationToken) =>
        CallAsync("grant a lease", async (e, headers, deadline, ct) =>
            (await e.Client.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) }, headers, deadline, ct).ConfigureAwait(false)).ID,
            cancellationToken);

    public Task<TimeSpan> LeaseKeepAliveAsync(long id, CancellationToken cancellationToken) =>
        CallAsync($"keep lease {id:x} alive", async (e, headers, deadline, ct) =>
        {
            // etcd's keep-alive is a stream; one request and its answer on a short-lived one is a refresh.
            using var call = e.Leases.LeaseKeepAlive(headers, deadline, ct);
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = id }, ct).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(ct).ConfigureAwait(false)) return TimeSpan.Zero;
            return TimeSpan.FromSeconds(Math.Max(0, call.ResponseStream.Current.TTL));
        }, cancellationToken);

    public Task LeaseRevokeAsync(long id, CancellationToken cancellationToken) =>
        CallAsync($"revoke lease {id:x}", async (e, headers, deadline, ct) =>
        {
            try
            {
                return await e.Client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = id }, headers, deadline, ct).ConfigureAwait(false);
            }
            catch (RpcException x) when (x.StatusCode == StatusCode.NotFound)
            {
                return null; // already expired: what revoking wanted
            }
        }, cancellationToken);

    public async IAsyncEnumerable<WatchBatch> WatchAsync(string prefix, long fromRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = fromRevision;
        var failures = new List<string>();
        for (var tried = 0; ; tried++, _current = (_current + 1) % _endpoints.Length)
        {
            if (tried == _endpoints.Length) throw Unavailable(failures);
            var endpoint = _endpoints[_current];
            using var stream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var create = new WatchCreateRequest { Key = Bytes(prefix), RangeEnd = PrefixEnd(prefix), StartRevision = next };
            var (call, failure) = await OpenWatchAsync(endpoint, create, stream.Token).ConfigureAwait(false);
            if (call is null)
            {
                failures.Add($"{endpoint.Uri}: {failure}");
                continue;
            }
            using (call)
            {
                while (true)
                {
                    (var response, failure) = await NextAsync(endpoint, call, prefix, stream.Token).ConfigureAwait(false);
                    if (response is null)
                    {
                        if (failure is not null) failures.Add($"{endpoint.Uri}: {failure}");
                        break;
                    }
                    if (response.CompactRevision != 0) throw new WatchCompactedException(next, response.CompactRevision);
                    if (response.Canceled)
                        throw new StoreRefusedException($"etcd at {endpoint.Uri} cancelled the watch of {prefix}: {response.CancelReason}");
                    if (response.Created)
                    {
                        tried = -1; // this endpoint serves the watch: a later loss starts a fresh round
                        failures.Clear();
                        continue;
                    }
                    if (response.Events.Count == 0) continue;
                    var events = response.Events.Select(ev => new WatchEvent(
                        ev.Type == Mvccpb.Event.Types.EventType.Delete ? WatchEventKind.Delete : WatchEventKind.Put, ToKeyValue(ev.Kv))).ToList();
                    next = events[^1].Kv.ModRevision + 1;
                    yield return new WatchBatch(response.Header.Revision, events);
                }
                await stream.CancelAsync().ConfigureAwait(false);
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Opens a watch stream on one endpoint; (null, why) when that endpoint cannot serve it.</summary>
    private async Task<(AsyncDuplexStreamingCall<WatchRequest, WatchResponse>? Call, string? Failure)> OpenWatchAsync(
        Endpoint endpoint, WatchCreateRequest create, CancellationToken cancellationToken)
    {
        AsyncDuplexStreamingCall<WatchRequest, WatchResponse>? call = null;
        try
        {
            var headers = await HeadersAsync(endpoint, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _roundTrips);
            call = endpoint.Watches.Watch(headers, deadline: null, cancellationToken);
            await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = create }, cancellationToken).ConfigureAwait(false);
            return (call, null);
        }
        catch (RpcException e)
        {
            call?.Dispose();
            return (null, Failed(endpoint, "watch", e));
        }
    }

    /// <summary>The next answer on a watch stream; (null, why) when the stream is lost, (null, null) when it ended.</summary>
    private static async Task<(WatchResponse? Response, string? Failure)> NextAsync(
        Endpoint endpoint, AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call, string prefix, CancellationToken cancellationToken)
    {
        try
        {
            return await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false) ? (call.ResponseStream.Current, null) : (null, null);
        }
        catch (RpcException e)
        {
            return (null, Failed(endpoint, "watch " + prefix, e));
        }
    }

    /// <summary>Why an endpoint failed, when another may do better; throws when etcd refused, which every member would.</summary>
    private static string Failed(Endpoint endpoint, string what, RpcException e)
    {
        var failure = Classify(e);
        return failure.Final ? throw new StoreRefusedException($"etcd at {endpoint.Uri} refused to {what}: {failure.Message}", e) : failure.Message;
    }

    public void Dispose()
    {
        foreach (var endpoint in _endpoints) endpoint.Dispose();
        _tls?.Dispose();
    }

    /// <summary>
    /// Sends one request, failing over across endpoints; re-authenticates once when etcd says the token
    /// expired (simple tokens last 5 minutes and are only valid on the member that issued them).
    /// </summary>
    private async Task<T> CallAsync<T>(string what, Func<Endpoint, Metadata?, DateTime, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var reauthenticated = false;
        for (var tried = 0; tried < _endpoints.Length;)
        {
            var endpoint = _endpoints[_current];
            try
            {
                var headers = await HeadersAsync(endpoint, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _roundTrips);
                return await call(endpoint, headers, DateTime.UtcNow + _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (!reauthenticated && endpoint.Token is not null && e.StatusCode == StatusCode.Unauthenticated)
            {
                endpoint.Token = null;
                reauthenticated = true;
            }
            catch (RpcException e)
            {
                failures.Add($"{endpoint.Uri}: {Failed(endpoint, what, e)}");
                tried++;
                _current = (_current + 1) % _endpoints.Length;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The channel reports a passed deadline as a cancellation: a member that took the request and never answered.
                failures.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{endpoint.Uri}: no answer within {_options.CommandTimeout.TotalSeconds:0.###}s (a member that hangs, or an overloaded one; --command-timeout waits longer)"));
                tried++;
                _current = (_current + 1) % _endpoints.Length;
            }
        }
        throw Unavailable(failures);
    }

    private Exception Unavailable(List<string> failures)
    {
        var detail = string.Join("; ", failures);
        // Every endpoint failing its TLS handshake is a configuration problem, not an outage.
        if (failures.Count > 0 && failures.All(f => f.Contains(TlsMarker, StringComparison.Ordinal)))
            return new StoreRefusedException("no etcd endpoint completed a TLS handshake: " + detail);
        return new StoreUnavailableException("no etcd endpoint answered: " + detail);
    }

    private async Task<Metadata?> HeadersAsync(Endpoint endpoint, CancellationToken cancellationToken)
    {
        EnsureChannel(endpoint);
        if (_options.User is null) return null;
        // Tasks share the endpoint: work on a local copy, another task may drop the token meanwhile.
        var token = endpoint.Token;
        if (token is null)
        {
            try
            {
                Interlocked.Increment(ref _roundTrips);
                var response = await endpoint.Client.AuthenticateAsync(
                    new AuthenticateRequest { Name = _options.User, Password = _options.Password ?? "" }, null, DateTime.UtcNow + _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                token = endpoint.Token = response.Token;
            }
            catch (RpcException e) when (e.Status.Detail.Contains("authentication is not enabled", StringComparison.Ordinal))
            {
                token = endpoint.Token = "";
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.InvalidArgument or StatusCode.PermissionDenied)
            {
                throw new StoreRefusedException(
                    $"etcd at {endpoint.Uri} refused authentication as '{_options.User}': {Detail(e)} (check --user, or OVERLAYCTL_USER / OVERLAYCTL_PASSWORD)", e);
            }
        }
        return token.Length == 0 ? null : new Metadata { { "token", token } };
    }

    private void EnsureChannel(Endpoint endpoint)
    {
        // Callers share one client across tasks (parallel hosts): make each channel exactly once.
        lock (endpoint)
        {
            if (endpoint.Channel is null) endpoint.Connect(CreateChannel(endpoint.Uri));
        }
    }

    private GrpcChannel CreateChannel(Uri uri)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _options.DialTimeout,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        if (uri.Scheme == Uri.UriSchemeHttps && _tls is { } tls)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = tls.ClientCertificate is null ? null : [tls.ClientCertificate],
                RemoteCertificateValidationCallback = tls.TrustedCas is null ? null : (_, certificate, _, errors) => Trusted(tls.TrustedCas, certificate, errors),
            };
        }
        return GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            ThrowOperationCanceledOnCancellation = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
    }

    /// <summary>The server's chain ends in one of the CAs given (not the system store), and its name matches.</summary>
    private static bool Trusted(X509Certificate2Collection cas, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        if (errors == SslPolicyErrors.None) return true;
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(cas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var server = new X509Certificate2(certificate);
        return chain.Build(server);
    }

    private const string TlsMarker = "TLS handshake failed";

    /// <summary>What went wrong, in words, and whether another endpoint could do better.</summary>
    private static (bool Final, string Message) Classify(RpcException e)
    {
        var detail = Detail(e);
        var chain = e.Status.DebugException is { } inner ? Chain(inner).ToList() : [];
        if (chain.Any(x => x is AuthenticationException or HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }))
            return (false, $"{TlsMarker}: {detail} (is this endpoint serving TLS, and is --cacert the CA that signed it?)");
        // Something answered, but not in gRPC: a wrong port, a proxy, a web server.
        if (chain.Any(x => x is HttpProtocolException
                || (x is HttpRequestException h && h.HttpRequestError is not (HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError))))
            return (false, $"{detail} (not an etcd client URL? it does not answer as etcd's gRPC API does)");
        return e.StatusCode switch
        {
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Aborted => (false, detail),
            StatusCode.Unimplemented or StatusCode.Internal or StatusCode.Unknown when !detail.StartsWith("etcdserver:", StringComparison.Ordinal) =>
                (false, $"{detail} (not an etcd client URL? it does not answer as etcd's gRPC API does)"),
            StatusCode.PermissionDenied => (true, $"{detail} (the etcd user lacks a role with read-write access to this prefix: etcdctl role grant-permission)"),
            StatusCode.InvalidArgument when detail.Contains("user name is empty", StringComparison.Ordinal) =>
                (true, $"{detail} (etcd has auth enabled: give --user, or set OVERLAYCTL_USER / OVERLAYCTL_PASSWORD)"),
            StatusCode.Unauthenticated => (true, $"{detail} (check --user, or OVERLAYCTL_USER / OVERLAYCTL_PASSWORD)"),
            StatusCode.ResourceExhausted when detail.Contains("space exceeded", StringComparison.Ordinal) =>
                (true, $"{detail} (etcd's NOSPACE alarm: compact and defragment it, then etcdctl alarm disarm)"),
            _ => (true, detail),
        };
    }

    /// <summary>
    /// etcd's own words when it answered; otherwise the messages of the exceptions underneath, without
    /// gRPC's wrapping ("Error starting gRPC call. HttpRequestException: ..."), which names types, not causes.
    /// </summary>
    private static string Detail(RpcException e)
    {
        if (e.Status.DebugException is not { } debug)
            return string.IsNullOrWhiteSpace(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
        var messages = Chain(debug)
            .TakeWhile(x => x is not ObjectDisposedException) // the socket torn down after the cause
            .Select(x => x.Message.Replace(", see inner exception", "", StringComparison.Ordinal).Trim().TrimEnd('.'))
            .Where(m => m.Length > 0 && !m.StartsWith("An error occurred while sending the request", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        return string.Join(": ", messages);
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException) yield return x;
    }

    private static KeyValue ToKeyValue(Mvccpb.KeyValue kv) =>
        new(kv.Key.ToStringUtf8(), kv.Value.ToStringUtf8(), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    /// <summary>etcd's range end for a prefix: the prefix with its last byte incremented.</summary>
    private static ByteString PrefixEnd(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }

    /// <summary>One etcd member as seen from here: its channel, the clients over it, its auth token.</summary>
    private sealed class Endpoint(Uri uri) : IDisposable
    {
        public Uri Uri { get; } = uri;

        public GrpcChannel? Channel { get; private set; }

        public EtcdClient Client { get; private set; } = null!;

        public Etcdserverpb.Watch.WatchClient Watches { get; private set; } = null!;

        public Etcdserverpb.Lease.LeaseClient Leases { get; private set; } = null!;

        /// <summary>null: not authenticated yet; empty: etcd has auth off.</summary>
        public string? Token { get; set; }

        public void Connect(GrpcChannel channel)
        {
            Channel = channel;
            var invoker = channel.CreateCallInvoker();
            Client = new EtcdClient(invoker);
            Watches = new Etcdserverpb.Watch.WatchClient(invoker);
            Leases = new Etcdserverpb.Lease.LeaseClient(invoker);
        }

        public void Dispose()
        {
            Client?.Dispose();
            Channel?.Dispose();
        }
    }
}
