using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Backends.WireGuard;

/// <summary>How a host gets its WireGuard device: the kernel's, wireguard-go's, or the kernel's when it has one (as wg-quick does).</summary>
public enum WireGuardImplementation
{
    Auto,
    Kernel,
    Userspace,
}

/// <summary>
/// <c>network.wireguard</c>: the UDP port every host listens on (flannel's 51820; each lease carries its own, so
/// a host may differ), the persistent keepalive in seconds (0: off, as flannel's default; set it for hosts behind
/// NAT), the implementation, and where each host keeps its private key. <see cref="KeyFile"/> may contain
/// <c>{host}</c>; null is <c>/etc/overlayctl/wireguard/CLUSTER.key</c>, on persistent storage so a reboot keeps
/// the host's public key (and the peers that know it).
/// </summary>
public sealed record WireGuardSettings(int ListenPort, int PersistentKeepalive, WireGuardImplementation Implementation, string? KeyFile) : BackendSettings
{
    public const int DefaultListenPort = 51820;

    public static WireGuardSettings Default { get; } = new(DefaultListenPort, 0, WireGuardImplementation.Auto, null);

    private static readonly string[] Keys = ["listenPort", "persistentKeepalive", "implementation", "keyFile"];

    /// <summary>The key file on <paramref name="host"/>.</summary>
    public string KeyFileFor(ClusterSpec spec, HostSpec host) =>
        (KeyFile ?? $"/etc/overlayctl/wireguard/{spec.Name}.key").Replace("{host}", host.Name, StringComparison.Ordinal);

    internal static WireGuardSettings Read(BackendSpecContext context)
    {
        if (context.Network.Mapping("wireguard", "network.wireguard", Keys) is not { } section) return Default;
        var port = section.Int("listenPort", 1, 65_535, DefaultListenPort);
        var keepalive = section.Int("persistentKeepalive", 0, 65_535, 0);
        var implementation = Default.Implementation;
        if (section.Scalar("implementation", "an implementation") is { } text)
        {
            WireGuardImplementation? parsed = text switch
            {
                "auto" => WireGuardImplementation.Auto,
                "kernel" => WireGuardImplementation.Kernel,
                "userspace" => WireGuardImplementation.Userspace,
                _ => null,
            };
            if (parsed is { } known) implementation = known;
            else section.Error("implementation", $"implementation '{text}' is not known", "use auto (the kernel's WireGuard, else wireguard-go), kernel or userspace (wireguard-go)");
        }
        string? keyFile = null;
        if (section.Scalar("keyFile", "a path for keyFile") is { } path)
        {
            // The path reaches sh programs as an argument and wg as one: still, only plain path characters.
            if (path.StartsWith('/') && path.Length > 1 && !path.EndsWith('/') && !path.Split('/').Any(p => p is "." or "..")
                && path.All(c => char.IsAsciiLetterOrDigit(c) || "/._-{}".Contains(c, StringComparison.Ordinal)))
                keyFile = path;
            else
                section.Error("keyFile", $"keyFile '{path}' is not an absolute path of letters, digits, '.', '_', '-' and '/'",
                    "write an absolute path on persistent storage (it may contain {host}), e.g. /etc/overlayctl/wireguard/{host}.key");
        }
        return new WireGuardSettings(port, keepalive, implementation, keyFile);
    }
}
