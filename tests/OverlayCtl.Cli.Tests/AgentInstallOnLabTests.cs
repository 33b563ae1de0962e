using OverlayCtl.Cli.Tests.Support;
using OverlayCtl.Testing;

namespace OverlayCtl.Cli.Tests;

/// <summary>
/// <c>agent install</c> and <c>uninstall</c> over namespace hosts, through the same runner as a real host's.
/// systemd cannot run on this machine or in a namespace, so a recording <c>systemctl</c> stub is put first in
/// PATH: it logs every call and keeps enabled/active as files, as systemd would answer is-enabled and is-active.
/// Namespace hosts share this machine's files, so each host installs under <c>--root DIR</c>/HOST rather than
/// into the machine's /usr/local/bin and /etc.
/// </summary>
[Trait("Category", "Namespaces")]
public sealed class AgentInstallOnLabTests
{
    private const string Password = "pw-7f3a-not-for-logs";
    private const string KeyMarker = "KEY-9c1e-not-for-logs";

    [Fact]
    public async Task InstallPutsRootOnlyCredentialsByPathASecondInstallRunsNothingAndUninstallRemovesEverything()
    {
        await using var lab = new LabCluster("http://198.18.83.254:2379", hosts: 2, underlay: "198.18.83.0/24");
        var up = await lab.RunAsync("lab", "up");
        Assert.True(up.ExitCode == 0, up.ToString());
        var root = Path.Combine(lab.Dir, "root");
        var stub = Path.Combine(lab.Dir, "stub");
        var calls = Path.Combine(lab.Dir, "systemctl.log");
        Directory.CreateDirectory(stub);
        File.WriteAllText(Path.Combine(stub, "systemctl"), $$"""
            #!/bin/sh
            echo "$*" >> {{calls}}
            s={{lab.Dir}}/systemd; mkdir -p "$s"
            case "$1" in
              is-enabled) [ -e "$s/enabled-$3" ] ;;
              is-active) [ -e "$s/active-$3" ] ;;
              enable) touch "$s/enabled-$2" ;;
              start|restart) touch "$s/active-$2" ;;
              disable) rm -f "$s/enabled-$3" "$s/active-$3" ;;
            esac
            """);
        Sh.Must("chmod", "755", Path.Combine(stub, "systemctl"));
        var binary = Path.Combine(lab.Dir, "overlayctl");
        File.WriteAllBytes(binary, [.. Enumerable.Range(0, 3_000_000).Select(i => (byte)(i * 7919 >> 3))]);
        File.WriteAllText(Path.Combine(lab.Dir, "client.pem"), "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n");
        File.WriteAllText(Path.Combine(lab.Dir, "client-key.pem"), $"-----BEGIN PRIVATE KEY-----\n{KeyMarker}\n-----END PRIVATE KEY-----\n");
        string[] install = ["agent", "install", "--binary", binary, "--root", root, "--user", "agent:" + Password,
            "--cert", Path.Combine(lab.Dir, "client.pem"), "--key", Path.Combine(lab.Dir, "client-key.pem"), "-v", "--log-file", Path.Combine(lab.Dir, "audit.log")];

        var path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", stub + ":" + path);
        try
        {
            var first = await lab.RunAsync(install);
            Assert.True(first.ExitCode == 0, first.ToString());
            var cluster = $"e{lab.Id}";
            foreach (var host in lab.HostNames)
            {
                var at = Path.Combine(root, host);
                Assert.Equal("755 0", Stat(at + "/usr/local/bin/overlayctl"));
                Assert.Equal(File.ReadAllBytes(binary), File.ReadAllBytes(at + "/usr/local/bin/overlayctl"));
                Assert.Equal("644 0", Stat($"{at}/etc/overlayctl/{cluster}.yaml"));
                Assert.Equal(File.ReadAllText(lab.SpecPath), File.ReadAllText($"{at}/etc/overlayctl/{cluster}.yaml"));
                Assert.Equal("700 0", Stat($"{at}/etc/overlayctl/{cluster}"));
                foreach (var secret in new[] { "cert.pem", "key.pem", "password" })
                    Assert.Equal("600 0", Stat($"{at}/etc/overlayctl/{cluster}/{secret}"));
                Assert.Equal(Password + "\n", File.ReadAllText($"{at}/etc/overlayctl/{cluster}/password"));
                var unit = File.ReadAllText($"{at}/etc/systemd/system/overlayctl-agent-{cluster}.service");
                Assert.Contains($"ExecStart=/usr/local/bin/overlayctl agent -f /etc/overlayctl/{cluster}.yaml --host {host} --cert /etc/overlayctl/{cluster}/cert.pem "
                    + $"--key /etc/overlayctl/{cluster}/key.pem --user agent --password-file /etc/overlayctl/{cluster}/password\n", unit, StringComparison.Ordinal);
                AssertNoSecret(unit);
            }
            Assert.Contains($"etcdctl user grant-role agent overlayctl-agent-{cluster}", first.Stdout, StringComparison.Ordinal);
            var log = File.ReadAllLines(calls);
            Assert.Equal(2, log.Count(l => l == $"restart overlayctl-agent-{cluster}.service"));
            Assert.Equal(2, log.Count(l => l == $"enable overlayctl-agent-{cluster}.service"));
            AssertNoSecret(File.ReadAllText(calls) + first + File.ReadAllText(Path.Combine(lab.Dir, "audit.log")));

            var before = log.Length;
            var second = await lab.RunAsync(install);
            Assert.True(second.ExitCode == 0, second.ToString());
            Assert.Equal(["n1: unchanged (nothing to do)", "n2: unchanged (nothing to do)"], second.Stdout.Split('\n').Where(l => l.StartsWith('n')));
            Assert.All(File.ReadAllLines(calls).Skip(before), l => Assert.StartsWith("is-", l, StringComparison.Ordinal));

            var uninstall = await lab.RunAsync("agent", "uninstall", "--root", root);
            Assert.True(uninstall.ExitCode == 0, uninstall.ToString());
            Assert.Contains("the network on these hosts is left as it is", uninstall.Stdout, StringComparison.Ordinal);
            Assert.Empty(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories));
            Assert.Equal(2, File.ReadAllLines(calls).Count(l => l == $"disable --now overlayctl-agent-{cluster}.service"));
            var again = await lab.RunAsync("agent", "uninstall", "--root", root, "-o", "json");
            Assert.All(again.Json().GetProperty("hosts").EnumerateArray(), h => Assert.Equal("unchanged", h.GetProperty("result").GetString()));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }

    private static void AssertNoSecret(string text)
    {
        Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyMarker, text, StringComparison.Ordinal);
    }

    /// <summary>Mode (octal) and owner uid.</summary>
    private static string Stat(string path) => Sh.Must("stat", "-c", "%a %u", path).Trim();
}
