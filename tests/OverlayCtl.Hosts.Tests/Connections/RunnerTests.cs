using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Spec;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Tests.Support;
using Serilog.Core;

namespace OverlayCtl.Hosts.Tests.Connections;

/// <summary>Runners against real namespaces and a real sshd inside one.</summary>
[Trait("Category", "Namespaces")]
// Classes that create namespaces run one after another: run in parallel, the lab test failed once in CI.
[Collection("Namespaces")]
public sealed class RunnerTests : IDisposable
{
    private readonly string _ns = Sh.Unique("ovt");
    private readonly string _dir = Directory.CreateTempSubdirectory("overlayctl-ssh-").FullName;
    private readonly ProcessRunner _processes = new(Logger.None, TimeSpan.FromSeconds(20));
    private int? _sshd;
    private string? _rootVeth;

    public RunnerTests() => Sh.Must("ip", "netns", "add", _ns);

    [Fact]
    public async Task ANamespaceRunnerRunsInsideTheNamespace()
    {
        Sh.Must("ip", "-n", _ns, "link", "add", "probe0", "type", "bridge");
        var runner = new NetnsHostRunner("h", _ns, _processes);
        var result = await runner.RunAsync(CommandSpec.Of("ip", "-j", "link"), default);
        Assert.True(result.Succeeded);
        Assert.Contains("\"probe0\"", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, _processes.Spawned);
    }

    [Fact]
    public async Task ANamespaceAddedThroughANamespaceRunnerOutlivesTheCommandAndIsRemovedThroughItToo()
    {
        // ip netns exec runs in a private mount namespace: made there, the name would vanish with the command.
        var runner = new NetnsHostRunner("h", _ns, _processes);
        var inner = Sh.Unique("ovti");
        try
        {
            Assert.True((await runner.RunAsync(CommandSpec.Of("ip", "netns", "add", inner), default)).Succeeded);
            Assert.True((await runner.RunAsync(CommandSpec.Of("ip", "link", "add", "ovtv0", "type", "veth", "peer", "name", "eth0", "netns", inner), default)).Succeeded);
            var inside = await runner.RunAsync(CommandSpec.Of("ip", "netns", "exec", inner, "ip", "-o", "link", "show", "eth0"), default);
            Assert.True(inside.Succeeded, inside.StandardError);
            Assert.True((await runner.RunAsync(CommandSpec.Of("ip", "netns", "del", inner), default)).Succeeded);
            Assert.DoesNotContain(inner, Sh.Must("ip", "netns", "list"), StringComparison.Ordinal);
        }
        finally
        {
            Sh.Run("ip", "netns", "del", inner);
        }
    }

    [Fact]
    public async Task ACommandPastItsTimeoutIsKilledAndReported()
    {
        var quick = new ProcessRunner(Logger.None, TimeSpan.FromMilliseconds(300));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<CommandFailedException>(() => quick.RunAsync("h", CommandSpec.Of("sleep", "30"), default));
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void WithSudoTheArgumentListRunsThroughSudoNonInteractiveIntact()
    {
        var target = new HostConnection.Ssh("ops", "198.18.172.11", 22, null) { Sudo = true };
        var wrapped = new SshHostRunner("h", target, _processes).Wrap(["printf", "%s|", "it's", "$(id)"], null);
        Assert.Equal("ops@198.18.172.11", wrapped.Arguments[^3]);
        Assert.Equal("'sudo' '-n' '--' 'env' \"SSH_CLIENT=$SSH_CLIENT\" 'printf' '%s|' 'it'\\''s' '$(id)'", wrapped.Arguments[^1]);
        Assert.Equal("'printf' '%s|'", new SshHostRunner("h", target with { Sudo = false }, _processes).Wrap(["printf", "%s|"], null).Arguments[^1]);
    }

    [Fact]
    public async Task SshKeepsASecretOnStandardInputOutOfTheLog()
    {
        var target = StartSshd();
        var sink = new CollectingSink();
        var processes = new ProcessRunner(new Serilog.LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger(), TimeSpan.FromSeconds(20));
        var ssh = new SshHostRunner("remote", target, processes, ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]);
        var result = await ssh.RunAsync(new CommandSpec("cat", [], "PRIVATE-KEY-MATERIAL", SecretInput: true), default);
        Assert.Equal("PRIVATE-KEY-MATERIAL", result.StandardOutput);
        Assert.DoesNotContain(sink.Lines, l => l.Contains("PRIVATE-KEY-MATERIAL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SshRunsCommandsAndMovesFilesThroughARealSshd()
    {
        var target = StartSshd();
        var ssh = new SshHostRunner("remote", target, _processes, ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]);

        var links = await ssh.RunAsync(CommandSpec.Of("ip", "-j", "link"), default);
        Assert.True(links.Succeeded, links.StandardError);
        Assert.Contains("\"eth0\"", links.StandardOutput, StringComparison.Ordinal);

        string[] hostile = ["$(id)", "a b", "it's", "`uname`", "; echo pwned", "", "new\nline"];
        var echo = await ssh.RunAsync(new CommandSpec("printf", ["%s|", .. hostile]), default);
        Assert.Equal(string.Join("", hostile.Select(h => h + "|")), echo.StandardOutput);

        var path = Path.Combine(_dir, "remote dir", "daemon.json");
        Assert.Null(await ssh.ReadFileAsync(path, default));
        await ssh.WriteFileAsync(path, "{ \"bip\": \"10.244.1.1/24\" }\n", null, default);
        Assert.Equal("{ \"bip\": \"10.244.1.1/24\" }\n", await ssh.ReadFileAsync(path, default));
        await ssh.DeleteFileAsync(path, default);
        Assert.False(File.Exists(path));
    }

    /// <summary>sshd inside the namespace, reached from here over a veth pair on 198.51.100.0/30.</summary>
    private HostConnection.Ssh StartSshd()
    {
        _rootVeth = Sh.Unique("ovs");
        Sh.Must("ip", "link", "add", _rootVeth, "type", "veth", "peer", "name", "eth0", "netns", _ns);
        Sh.Must("ip", "addr", "add", "198.51.100.1/30", "dev", _rootVeth);
        Sh.Must("ip", "link", "set", _rootVeth, "up");
        Sh.Must("ip", "-n", _ns, "addr", "add", "198.51.100.2/30", "dev", "eth0");
        Sh.Must("ip", "-n", _ns, "link", "set", "eth0", "up");
        Sh.Must("ip", "-n", _ns, "link", "set", "lo", "up");
        Directory.CreateDirectory("/run/sshd");
        Sh.Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "host_key"));
        Sh.Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(_dir, "client_key"));
        File.Copy(Path.Combine(_dir, "client_key.pub"), Path.Combine(_dir, "authorized_keys"));
        File.WriteAllText(Path.Combine(_dir, "sshd_config"), $"""
            ListenAddress 198.51.100.2
            Port 2222
            HostKey {_dir}/host_key
            AuthorizedKeysFile {_dir}/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            StrictModes no
            UsePAM no
            PidFile {_dir}/sshd.pid

            """);
        Sh.Must("ip", "netns", "exec", _ns, "/usr/sbin/sshd", "-f", Path.Combine(_dir, "sshd_config"));
        for (var i = 0; i < 50 && !File.Exists(Path.Combine(_dir, "sshd.pid")); i++) Thread.Sleep(100);
        _sshd = int.Parse(File.ReadAllText(Path.Combine(_dir, "sshd.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return new HostConnection.Ssh("root", "198.51.100.2", 2222, Path.Combine(_dir, "client_key"));
    }

    public void Dispose()
    {
        if (_sshd is { } pid) Sh.Run("kill", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Sh.Run("ip", "netns", "del", _ns);
        if (_rootVeth is not null) Sh.Run("ip", "link", "del", _rootVeth);
        Directory.Delete(_dir, recursive: true);
    }
}
