using OverlayCtl.Core.Spec;

namespace OverlayCtl.Etcd;

/// <summary>
/// How to reach etcd: several endpoints fail over in order; credentials come from the environment or
/// <c>--user</c>, never the spec. The timeouts are etcdctl's: <see cref="DialTimeout"/> bounds connecting
/// to one endpoint, <see cref="CommandTimeout"/> one request.
/// </summary>
public sealed record EtcdClientOptions(IReadOnlyList<Uri> Endpoints, TlsSpec? Tls = null, string? User = null, string? Password = null)
{
    public TimeSpan DialTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
