using System.Globalization;
using OverlayCtl.Core.State;

namespace OverlayCtl.Core.Backends.WireGuard;

/// <summary>
/// The fixed POSIX sh programs the WireGuard backend runs on a host, as <c>sh -c PROGRAM sh ARGS...</c>: every
/// value (a path, a device name) is an argument, never part of the program. They exist so that the private
/// key never passes through overlayctl: it is made on the host into its file, <c>wg</c> reads it from there,
/// and what comes back is only ever a public key.
/// </summary>
public static class WireGuardPrograms
{
    /// <summary>The first line of every key program: without wg, say how to get it.</summary>
    private const string RequireWg = """
        command -v wg > /dev/null || { echo "wg is not installed (fix: install wireguard-tools, e.g. apt-get install wireguard-tools)" >&2; exit 127; }

        """;

    /// <summary>
    /// <c>wireguard-genkey KEYFILE</c>: makes the private key when the file is absent (mode 0400, directory 0700,
    /// written to a temporary file and renamed, so a half-made key never stands); prints nothing.
    /// </summary>
    public const string GenerateKey = """
        [ -e "$1" ] && exit 0

        """ + RotateKey;

    /// <summary>
    /// <c>wireguard-rotate KEYFILE</c>: a new private key in place of the old one, made as <see cref="GenerateKey"/>
    /// makes the first (mode 0400, renamed over the old, so the file always holds one whole key); prints nothing.
    /// </summary>
    public const string RotateKey = RequireWg + """
        umask 077
        d=$(dirname -- "$1") && mkdir -p -- "$d" || exit 1
        tmp="$1.overlayctl-$$.tmp"
        trap 'rm -f -- "$tmp"' EXIT
        wg genkey > "$tmp" && chmod 0400 "$tmp" && mv -f -- "$tmp" "$1"
        """;

    /// <summary><c>wireguard-pubkey KEYFILE</c>: the public key of the file's private key; exit 3 when the file is absent.</summary>
    public const string PublicKey = """
        [ -e "$1" ] || exit 3

        """ + RequireWg + """
        exec wg pubkey < "$1"
        """;

    /// <summary>
    /// <c>wireguard-show DEVICE</c>: <c>wg show DEVICE dump</c> with every secret dropped on the host. The first
    /// line becomes <c>PUBLIC-KEY LISTEN-PORT</c> (the private key it starts with is read into a variable of this
    /// shell and never printed); each peer line <c>PUBLIC-KEY ENDPOINT ALLOWED-IPS LATEST-HANDSHAKE KEEPALIVE</c>
    /// (its preshared key dropped).
    /// </summary>
    public const string Show = """
        wg show "$1" listen-port > /dev/null || exit 1
        wg show "$1" dump | {
          read -r _ pub port _ || exit 0
          echo "$pub $port"
          while read -r peer _ endpoint ips handshake _ _ keepalive; do
            echo "$peer $endpoint $ips $handshake $keepalive"
          done
        }
        """;

    /// <summary>
    /// <c>wireguard-up IMPLEMENTATION DEVICE PIDFILE</c>: creates the device. <c>kernel</c>: <c>ip link add DEVICE type
    /// wireguard</c>. <c>userspace</c>: <c>wireguard-go -f DEVICE</c> started detached by start-stop-daemon (so it
    /// outlives overlayctl; its pid in PIDFILE, where destroy finds it), then waits until <c>wg</c> can reach it.
    /// <c>auto</c>: the kernel's, falling back to wireguard-go when the kernel has no WireGuard, as wg-quick does.
    /// </summary>
    public const string Up = """
        impl=$1 dev=$2 pidfile=$3
        if [ "$impl" != userspace ]; then
          if err=$(ip link add "$dev" type wireguard 2>&1); then exit 0; fi
          case $err in
            *"Unknown device type"*|*"not supported"*)
              if [ "$impl" = kernel ]; then
                echo "$err: this kernel has no WireGuard (fix: load the wireguard module, or use network.wireguard.implementation: auto or userspace with wireguard-go installed)" >&2
                exit 1
              fi ;;
            *) echo "$err" >&2; exit 1 ;;
          esac
        fi
        wggo=$(command -v wireguard-go) || { echo "the kernel has no WireGuard and wireguard-go is not installed (fix: install wireguard-go, e.g. apt-get install wireguard-go)" >&2; exit 127; }
        command -v wg > /dev/null || { echo "wg is not installed (fix: install wireguard-tools)" >&2; exit 127; }
        mkdir -p -- "$(dirname -- "$pidfile")" || exit 1
        start-stop-daemon --start --quiet --oknodo --background --make-pidfile --pidfile "$pidfile" --exec "$wggo" -- -f "$dev" || exit 1
        i=0
        until wg show "$dev" listen-port > /dev/null 2>&1; do
          i=$((i + 1))
          if [ "$i" -gt 100 ]; then echo "wireguard-go did not bring up $dev within 10 s (is /dev/net/tun there?)" >&2; exit 1; fi
          sleep 0.1
        done
        """;

    /// <summary><c>wireguard-stop PIDFILE</c>: stops the wireguard-go that PIDFILE names (its device goes with it) and removes the file.</summary>
    public const string Stop = """
        if [ -f "$1" ]; then
          start-stop-daemon --stop --quiet --oknodo --retry 5 --pidfile "$1" --name wireguard-go || exit 1
        fi
        rm -f -- "$1"
        """;

    /// <summary>
    /// Parses what <see cref="Show"/> prints; null when it printed nothing. Handshake times are seconds since the
    /// epoch, 0 for never.
    /// </summary>
    public static WireGuardDevice? ParseShow(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0) return null;
        var head = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var publicKey = head.Length > 0 && IsKey(head[0]) ? head[0] : null;
        var port = head.Length > 1 && int.TryParse(head[1], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : 0;
        var peers = new List<WireGuardPeer>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5 || !IsKey(f[0])) continue;
            var endpoint = f[1] == "(none)" ? null : f[1];
            var ips = f[2] == "(none)" ? [] : f[2].Split(',', StringSplitOptions.RemoveEmptyEntries);
            DateTimeOffset? handshake = long.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
            var keepalive = int.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out var k) ? k : 0;
            peers.Add(new WireGuardPeer(f[0], endpoint, ips, handshake, keepalive));
        }
        return new WireGuardDevice(publicKey, port, peers);
    }

    /// <summary>Whether <paramref name="text"/> is a WireGuard key as wg prints it: 32 bytes in base64 (44 characters, one '=').</summary>
    public static bool IsKey(string? text) =>
        text is { Length: 44 } && text[43] == '=' && text.Take(43).All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/')
        && "AEIMQUYcgkosw048".Contains(text[42], StringComparison.Ordinal);
}
