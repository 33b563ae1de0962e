using System.Diagnostics;
using System.Globalization;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests.Support;

/// <summary>
/// A <see cref="LabCluster"/>'s namespace hosts as ssh hosts: a real sshd in each (key auth with a key made here,
/// listening on the host's underlay address inside its namespace, logging each accepted login), a spec naming the
/// same hosts by <c>ssh://</c>, and overlayctl run as its own process with an <c>ssh</c> first in PATH that adds this
/// lab's client settings (no host-key prompt) and counts its invocations. The lab's root reaches the hosts through
/// the address it holds on the lab bridge (the spec's etcd endpoint). Everything is removed on dispose. sshd sets
/// SHLVL=1, so Debian's bash does not source root's ~/.bashrc (on this machine, seconds of pyenv) for every command.
/// </summary>
internal sealed class SshLab : IAsyncDisposable
{
    private readonly LabCluster _lab;
    private readonly Dictionary<string, int> _sshd = [];
    private readonly List<string> _users = [];

    private SshLab(LabCluster lab)
    {
        _lab = lab;
        Dir = Path.Combine(lab.Dir, "ssh");
        Directory.CreateDirectory(Path.Combine(Dir, "bin"));
        SpecPath = Path.Combine(lab.Dir, "ssh.yaml");
    }

    public string Dir { get; }

    /// <summary>The lab's spec with every host reached over ssh instead of netns.</summary>
    public string SpecPath { get; }

    public string ClientKey => Path.Combine(Dir, "client_key");

    /// <summary>Starts an sshd in every host and writes the ssh spec (<paramref name="user"/> logs in; "root" or a user <see cref="AddSudoUser"/> made).</summary>
    public static SshLab Start(LabCluster lab)
    {
        var ssh = new SshLab(lab);
        try
        {
            ssh.StartAll();
            return ssh;
        }
        catch
        {
            ssh.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    private void StartAll()
    {
        Directory.CreateDirectory("/run/sshd");
        Sh.Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(Dir, "host_key"));
        Sh.Must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ClientKey);
        File.Copy(ClientKey + ".pub", Path.Combine(Dir, "authorized_keys"));
        File.WriteAllText(Path.Combine(Dir, "ssh_config"), """
            Host *
              StrictHostKeyChecking no
              UserKnownHostsFile /dev/null
              LogLevel ERROR

            """);
        var wrapper = Path.Combine(Dir, "bin", "ssh");
        File.WriteAllText(wrapper, $"""
            #!/bin/sh
            printf '%s\n' "$(printf '%s' "$*" | tr '\n' ' ')" >> '{Dir}/invocations.log'
            exec /usr/bin/ssh -F '{Dir}/ssh_config' "$@"

            """);
        Sh.Must("chmod", "700", wrapper);
        foreach (var host in _lab.HostNames)
        {
            var config = Path.Combine(Dir, $"sshd-{host}.conf");
            File.WriteAllText(config, $"""
                ListenAddress {_lab.Address(host)}
                Port 22
                HostKey {Dir}/host_key
                AuthorizedKeysFile {Dir}/authorized_keys .ssh/authorized_keys
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                StrictModes no
                UsePAM no
                SetEnv SHLVL=1
                PidFile {Dir}/sshd-{host}.pid

                """);
            Sh.Must("ip", "netns", "exec", _lab.Netns(host), "/usr/sbin/sshd", "-f", config, "-E", LogOf(host));
            var pidFile = Path.Combine(Dir, $"sshd-{host}.pid");
            // sshd creates its pid file before it writes the pid: wait for the number, not the file.
            var pid = 0;
            for (var i = 0; i < 100 && !(File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out pid)); i++) Thread.Sleep(100);
            _sshd[host] = pid > 0 ? pid : throw new InvalidOperationException($"sshd of {host} wrote no pid to {pidFile}: {File.ReadAllText(LogOf(host))}");
        }
        WriteSpec("root");
    }

    /// <summary>Rewrites the ssh spec so <paramref name="user"/> logs in, with <paramref name="query"/> after each host (<c>?sudo=true</c>).</summary>
    public void WriteSpec(string user, string query = "")
    {
        var spec = File.ReadAllText(_lab.SpecPath);
        foreach (var host in _lab.HostNames)
            spec = spec.Replace($"connection: netns://{_lab.Netns(host)}\n",
                $"connection: ssh://{user}@{_lab.Address(host)}{query}\n    sshKey: {ClientKey}\n", StringComparison.Ordinal);
        File.WriteAllText(SpecPath, spec);
    }

    /// <summary>A user on this machine (so on every namespace host) that may run anything as root by sudo without a password, as fleets allow.</summary>
    public void AddSudoUser(string user)
    {
        // "*": no password, yet not locked (sshd without PAM refuses a locked account even a key).
        Sh.Must("useradd", "--create-home", "--shell", "/bin/sh", "--password", "*", user);
        _users.Add(user);
        File.WriteAllText($"/etc/sudoers.d/{user}", $"{user} ALL=(ALL) NOPASSWD: ALL\n");
        Sh.Must("chmod", "440", $"/etc/sudoers.d/{user}");
        // sshd reads a user's keys as that user: the lab's own directory is root's alone.
        Sh.Must("install", "-d", "-m", "700", "-o", user, "-g", user, $"/home/{user}/.ssh");
        Sh.Must("install", "-m", "600", "-o", user, "-g", user, ClientKey + ".pub", $"/home/{user}/.ssh/authorized_keys");
    }

    private string LogOf(string host) => Path.Combine(Dir, $"sshd-{host}.log");

    /// <summary>Logins sshd accepted on the host so far: each is one ssh handshake.</summary>
    public int Handshakes(string host) =>
        File.Exists(LogOf(host)) ? File.ReadAllLines(LogOf(host)).Count(l => l.Contains("Accepted publickey for ", StringComparison.Ordinal)) : 0;

    /// <summary>ssh processes overlayctl started so far.</summary>
    public int Invocations => File.Exists(Path.Combine(Dir, "invocations.log")) ? File.ReadAllLines(Path.Combine(Dir, "invocations.log")).Length : 0;

    /// <summary>The remote commands of the ssh processes after the first <paramref name="skip"/>, as ssh got them (for the test's output).</summary>
    public IEnumerable<string> RemoteCommands(int skip) =>
        File.Exists(Path.Combine(Dir, "invocations.log"))
            ? File.ReadAllLines(Path.Combine(Dir, "invocations.log")).Skip(skip).Select(l => l.Contains(" -- ", StringComparison.Ordinal) ? l[(l.IndexOf(" -- ", StringComparison.Ordinal) + 4)..] : l)
            : [];

    /// <summary>overlayctl, as its own process (so PATH is its own), against the ssh spec.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunOverlayctlAsync([.. args, "-f", SpecPath]);

    public async Task<CliResult> RunOverlayctlAsync(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "overlayctl"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["PATH"] = Path.Combine(Dir, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        Directory.CreateDirectory(Path.Combine(Dir, "tmp"));
        start.Environment["TMPDIR"] = Path.Combine(Dir, "tmp");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new CliResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>ssh control sockets overlayctl left behind (none when every run closed its connections).</summary>
    public IReadOnlyList<string> ControlDirectories() =>
        Directory.Exists(Path.Combine(Dir, "tmp")) ? Directory.EnumerateFileSystemEntries(Path.Combine(Dir, "tmp")).ToList() : [];

    public ValueTask DisposeAsync()
    {
        foreach (var pid in _sshd.Values) Sh.Run("kill", pid.ToString(CultureInfo.InvariantCulture));
        foreach (var user in _users)
        {
            File.Delete($"/etc/sudoers.d/{user}");
            Sh.Run("userdel", "--remove", user);
        }
        return ValueTask.CompletedTask;
    }
}
