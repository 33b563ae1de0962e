using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OverlayCtl.Core.Leases;

namespace OverlayCtl.Etcd;

/// <summary>
/// etcd v3 over its HTTP/JSON gateway (<c>/v3/kv/*</c>, <c>/v3/lease/*</c>, <c>/v3/auth/authenticate</c>).
/// Fails over to the next endpoint when one cannot be reached and stays on the one that answered.
/// </summary>
public sealed class EtcdHttpClient : IEtcdClient, IDisposable
{
    private readonly EtcdClientOptions _options;
    private readonly HttpClient _http;
    private int _current;
    private string? _token;
    private long _roundTrips;

    public EtcdHttpClient(EtcdClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0) throw new ArgumentException("at least one etcd endpoint is needed", nameof(options));
        _options = options;
        _http = new HttpClient(CreateHandler(options)) { Timeout = options.CommandTimeout };
    }

    public long RoundTrips => Interlocked.Read(ref _roundTrips);

    public async Task<RangeResult> RangeAsync(string key, bool prefix, CancellationToken cancellationToken)
    {
        var response = await PostAsync("/v3/kv/range", new RangeRequest(B64(key), prefix ? B64(PrefixEnd(key)) : null),
            WireContext.Default.RangeRequest, WireContext.Default.RangeResponse, cancellationToken).ConfigureAwait(false);
        return new RangeResult((response.Kvs ?? []).Select(ToKeyValue).ToList(), response.Header?.Revision ?? 0);
    }

    public Task PutAsync(string key, string value, long lease, CancellationToken cancellationToken) =>
        PostAsync("/v3/kv/put", new PutRequest(B64(key), B64(value), lease), WireContext.Default.PutRequest, WireContext.Default.Empty, cancellationToken);

    public async Task<bool> TxnAsync(IReadOnlyList<TxnCompare> compares, IReadOnlyList<TxnOp> success, CancellationToken cancellationToken)
    {
        var request = new TxnRequest(
            compares.Select(c => c switch
            {
                TxnCompare.Absent a => new Compare(B64(a.Key), "VERSION", "EQUAL", Version: 0),
                TxnCompare.ModRevisionIs m => new Compare(B64(m.Key), "MOD", "EQUAL", ModRevision: m.Revision),
                _ => throw new ArgumentOutOfRangeException(nameof(compares)),
            }).ToList(),
            success.Select(o => o switch
            {
                TxnOp.Put p => new RequestOp(RequestPut: new PutRequest(B64(p.Key), B64(p.Value), p.Lease)),
                TxnOp.Delete d => new RequestOp(RequestDeleteRange: new DeleteRangeRequest(B64(d.Key))),
                _ => throw new ArgumentOutOfRangeException(nameof(success)),
            }).ToList(),
            []);
        var response = await PostAsync("/v3/kv/txn", request, WireContext.Default.TxnRequest, WireContext.Default.TxnResponse, cancellationToken).ConfigureAwait(false);
        return response.Succeeded;
    }

    public async Task<long> DeleteAsync(string key, bool prefix, CancellationToken cancellationToken)
    {
        var response = await PostAsync("/v3/kv/deleterange", new DeleteRangeRequest(B64(key), prefix ? B64(PrefixEnd(key)) : null),
            WireContext.Default.DeleteRangeRequest, WireContext.Default.DeleteRangeResponse, cancellationToken).ConfigureAwait(false);
        return response.Deleted;
    }

    public async Task<long> LeaseGrantAsync(TimeSpan ttl, CancellationToken cancellationToken)
    {
        var response = await PostAsync("/v3/lease/grant", new LeaseGrantRequest((long)ttl.TotalSeconds),
            WireContext.Default.LeaseGrantRequest, WireContext.Default.LeaseGrantResponse, cancellationToken).ConfigureAwait(false);
        return response.Id;
    }

    public Task LeaseRevokeAsync(long id, CancellationToken cancellationToken) =>
        PostAsync("/v3/lease/revoke", new LeaseIdRequest(id), WireContext.Default.LeaseIdRequest, WireContext.Default.Empty, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<TResponse> PostAsync<TRequest, TResponse>(
        string path, TRequest request, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(request, requestType);
        var failures = new List<string>();
        var reauthenticated = false;
        for (var tried = 0; tried < _options.Endpoints.Count;)
        {
            var endpoint = _options.Endpoints[_current];
            try
            {
                if (_token is null && _options.User is not null)
                    _token = await AuthenticateAsync(endpoint, cancellationToken).ConfigureAwait(false);
                using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (_token is not null) message.Headers.TryAddWithoutValidation("Authorization", _token);
                Interlocked.Increment(ref _roundTrips);
                using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return JsonSerializer.Deserialize(text, responseType) ?? throw new StoreUnavailableException($"{endpoint}: empty answer to {path}");
                var error = TryParseError(text);
                if (!reauthenticated && _options.User is not null && error.Contains("token", StringComparison.OrdinalIgnoreCase))
                {
                    // Tokens expire (etcd's simple tokens after 5 minutes idle): authenticate once more.
                    _token = null;
                    reauthenticated = true;
                    continue;
                }
                if (response.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout || error.Contains("no leader", StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add($"{endpoint}: {error}");
                    NextEndpoint(ref tried);
                    continue;
                }
                throw new EtcdException($"etcd refused {path}: {error}");
            }
            catch (HttpRequestException e)
            {
                failures.Add($"{endpoint}: {e.Message}");
                NextEndpoint(ref tried);
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add($"{endpoint}: no answer within {_options.CommandTimeout.TotalSeconds:0.#} s");
                NextEndpoint(ref tried);
            }
        }
        throw new StoreUnavailableException("no etcd endpoint answered: " + string.Join("; ", failures));
    }

    private void NextEndpoint(ref int tried)
    {
        tried++;
        _current = (_current + 1) % _options.Endpoints.Count;
        if (_options.User is not null) _token = null;
    }

    private async Task<string> AuthenticateAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new AuthenticateRequest(_options.User!, _options.Password ?? ""), WireContext.Default.AuthenticateRequest);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        Interlocked.Increment(ref _roundTrips);
        using var response = await _http.PostAsync(new Uri(endpoint, "/v3/auth/authenticate"), content, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new StoreUnavailableException($"etcd authentication as '{_options.User}' failed at {endpoint}: {TryParseError(text)} (check OVERLAYCTL_USER / OVERLAYCTL_PASSWORD)");
        return JsonSerializer.Deserialize(text, WireContext.Default.AuthenticateResponse)?.Token
            ?? throw new StoreUnavailableException($"etcd at {endpoint} returned no token: is auth enabled?");
    }

    private static string TryParseError(string text)
    {
        try
        {
            var error = JsonSerializer.Deserialize(text, WireContext.Default.ErrorResponse);
            return error?.Message ?? error?.Error ?? text;
        }
        catch (JsonException)
        {
            return text.Trim();
        }
    }

    private static HttpMessageHandler CreateHandler(EtcdClientOptions options)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var tls = options.Tls;
        if (tls is null) return handler;
        if (tls.Cert is not null && tls.Key is not null)
        {
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.Cert, tls.Key)];
        }
        if (tls.Ca is not null)
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(tls.Ca);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null) return false;
                if (errors == System.Net.Security.SslPolicyErrors.None) return true;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                var nameOk = (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
                return nameOk && chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }

    private static KeyValue ToKeyValue(KeyValueWire kv) =>
        new(FromB64(kv.Key), FromB64(kv.Value), kv.CreateRevision, kv.ModRevision, kv.Version, kv.Lease);

    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    private static string FromB64(string? s) => s is null ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(s));

    /// <summary>etcd's range end for a prefix: the prefix with its last byte incremented.</summary>
    private static string PrefixEnd(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return Encoding.UTF8.GetString(bytes, 0, i + 1);
            }
        }
        return "\0";
    }
}

/// <summary>etcd answered, but refused the request.</summary>
public sealed class EtcdException(string message) : Exception(message);
