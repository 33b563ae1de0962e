using System.Globalization;
using OverlayCtl.Core.Backends.WireGuard;
using OverlayCtl.Core.Hosts;

namespace OverlayCtl.Engine.Tests.Support;

/// <summary>
/// A hand-written host: answers the observe commands as a fresh Linux host with its address on eth0
/// would, accepts every change, and records what ran. It can be told to fail, and it measures how
/// many hosts the engine drives at once through a shared <see cref="Gauge"/>.
/// </summary>
internal sealed class FakeHost(string name, string address, Gauge? gauge = null) : IHostRunner
{
    private int _inFlight;

    public List<CommandSpec> Ran { get; } = [];

    /// <summary>When set, every command fails with this on stderr (an unreachable host, a broken sudo).</summary>
    public string? FailWith { get; set; }

    /// <summary>When set (an address like 10.244.1.1/24), the host has a docker0 holding it, as after an apply.</summary>
    public string? DockerGateway { get; set; }

    /// <summary>How long each command takes, so concurrency can be seen.</summary>
    public TimeSpan Latency { get; set; }

    public string HostName { get; } = name;

    /// <summary>Whether the host has a WireGuard private key (made by the wireguard-genkey program).</summary>
    public bool HasKey { get; private set; }

    /// <summary>The public key of the host's private key, as wg pubkey prints it.</summary>
    public const string PublicKey = "GHLwzPUBPV5Hz4QzuJ6oFLIO7xSmUyjO8ILaVvXkUTU=";

    /// <summary>A route the host already has (<c>ip -j</c> JSON object), such as a VPN's.</summary>
    public string? ExtraRoute { get; set; }

    /// <summary>What <c>SSH_CLIENT</c> says on the host; unset when null.</summary>
    public string? SshClient { get; set; }

    /// <summary>Whether anything but reading ran: a command that changes the host, or a file written.</summary>
    public bool Changed => Ran.Any(c => !IsObserve(c));

    /// <summary>Set: the first command that changes the host waits until it is cancelled (Ctrl-C), after completing <see cref="Hung"/>.</summary>
    public bool HangOnChange { get; set; }

    /// <summary>Completed when a command hangs (<see cref="HangOnChange"/>).</summary>
    public TaskCompletionSource Hung { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken)
    {
        lock (Ran) Ran.Add(command);
        if (HangOnChange && !IsObserve(command))
        {
            Hung.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        // A host counts once however many of its commands run together (observing runs several).
        if (Interlocked.Increment(ref _inFlight) == 1) gauge?.Enter();
        try
        {
            if (Latency > TimeSpan.Zero) await Task.Delay(Latency, cancellationToken);
            if (FailWith is not null) return new CommandResult(255, "", FailWith);
            if (command.ToString() == "printenv SSH_CLIENT") return SshClient is null ? new CommandResult(1, "", "") : new CommandResult(0, SshClient + "\n", "");
            if (command is { Program: "sh", Arguments: ["-c", var program, ..] })
            {
                // WireGuard's fixed programs: the key is made once, and only its public half ever comes back.
                if (program == WireGuardPrograms.GenerateKey) HasKey = true;
                if (program == WireGuardPrograms.PublicKey) return HasKey ? new CommandResult(0, PublicKey + "\n", "") : new CommandResult(3, "", "");
            }
            return new CommandResult(0, Answer(command), "");
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0) gauge?.Exit();
        }
    }

    public Task<string?> ReadFileAsync(string path, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public Task WriteFileAsync(string path, string content, string? backup, CancellationToken cancellationToken)
    {
        lock (Ran) Ran.Add(CommandSpec.Of("write", path));
        return Task.CompletedTask;
    }

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken)
    {
        lock (Ran) Ran.Add(CommandSpec.Of("delete", path));
        return Task.CompletedTask;
    }

    private static bool IsObserve(CommandSpec c) => c.ToString() is var s && (s.StartsWith("ip -j", StringComparison.Ordinal)
        || s.StartsWith("bridge -j", StringComparison.Ordinal) || s == "iptables-save" || s.StartsWith("sysctl -n", StringComparison.Ordinal) || s.StartsWith("printenv", StringComparison.Ordinal));

    private string Answer(CommandSpec command) => command.ToString() switch
    {
        "ip -j -d link show" => """
            [{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP"],"mtu":65536,"address":"00:00:00:00:00:00"},
             {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","UP"],"mtu":1500,"address":"02:00:00:00:00:02"}
            """ + (DockerGateway is null ? "]" : """,{"ifindex":3,"ifname":"docker0","flags":["BROADCAST","UP"],"mtu":1500,"address":"02:42:00:00:00:03","linkinfo":{"info_kind":"bridge"}}]"""),
        "ip -j -4 addr show" => string.Create(CultureInfo.InvariantCulture,
            $$"""[{"ifname":"eth0","addr_info":[{"family":"inet","local":"{{address}}","prefixlen":24}]}""") + (DockerGateway?.Split('/') is [var gateway, var length]
                ? string.Create(CultureInfo.InvariantCulture, $$""",{"ifname":"docker0","addr_info":[{"family":"inet","local":"{{gateway}}","prefixlen":{{length}}}]}]""")
                : "]"),
        "ip -j -4 route show table main" => string.Create(CultureInfo.InvariantCulture,
            $$"""[{"dst":"{{address[..address.LastIndexOf('.')]}}.0/24","dev":"eth0","protocol":"kernel","scope":"link"}{{(ExtraRoute is null ? "" : "," + ExtraRoute)}}]"""),
        "ip -j -4 neigh show" or "bridge -j fdb show" => "[]",
        "sysctl -n net.ipv4.ip_forward" => "1\n",
        _ => "",
    };
}

/// <summary>Counts how many hosts are busy at once, and the most there ever were.</summary>
internal sealed class Gauge
{
    private readonly Lock _gate = new();
    private int _now;

    public int Most { get; private set; }

    public void Enter()
    {
        lock (_gate) Most = Math.Max(Most, ++_now);
    }

    public void Exit()
    {
        lock (_gate) _now--;
    }
}
