using OverlayCtl.Core.Spec;

namespace OverlayCtl.Etcd;

/// <summary>How to reach etcd: several endpoints fail over in order; credentials come from the environment, never the spec.</summary>
public sealed record EtcdClientOptions(IReadOnlyList<Uri> Endpoints, TlsSpec? Tls = null, string? User = null, string? Password = null)
{
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
