using System.Diagnostics;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Connections;
using Serilog.Core;

namespace OverlayCtl.Hosts.Tests.Connections;

/// <summary>
/// A host's files through a real runner on this machine (as root): the operator's daemon.json is edited,
/// never replaced behind their back, and nothing but a regular file is ever opened.
/// </summary>
public sealed class HostFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("overlayctl-files-").FullName;
    private readonly LocalHostRunner _host = new("h", new ProcessRunner(Logger.None, TimeSpan.FromSeconds(20)));

    private string At(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task WritingThroughASymlinkChangesItsTargetAndKeepsTheLink()
    {
        Directory.CreateDirectory(At("real"));
        File.WriteAllText(At("real/docker.json"), "{}");
        File.CreateSymbolicLink(At("daemon.json"), At("real/docker.json"));
        await _host.WriteFileAsync(At("daemon.json"), "{ \"bip\": \"10.244.1.1/24\" }\n", null, default);
        Assert.Equal(At("real/docker.json"), new FileInfo(At("daemon.json")).LinkTarget);
        Assert.Equal("{ \"bip\": \"10.244.1.1/24\" }\n", File.ReadAllText(At("real/docker.json")));
        Assert.Equal("{ \"bip\": \"10.244.1.1/24\" }\n", await Read(here: true, At("daemon.json")));
        Assert.Equal("{ \"bip\": \"10.244.1.1/24\" }\n", await Read(here: false, At("daemon.json")));
    }

    [Fact]
    public async Task AnExistingFileKeepsItsModeAndOwner()
    {
        File.WriteAllText(At("daemon.json"), "{}");
        Sh.Must("chmod", "600", At("daemon.json"));
        Sh.Must("chown", "65534:65534", At("daemon.json"));
        await _host.WriteFileAsync(At("daemon.json"), "{ \"mtu\": 1450 }\n", null, default);
        Assert.Equal("600 65534:65534", Sh.Must("stat", "-c", "%a %u:%g", At("daemon.json")).Trim());
        Assert.Equal("{ \"mtu\": 1450 }\n", File.ReadAllText(At("daemon.json")));
    }

    [Fact]
    public async Task TheFirstWriteKeepsTheOriginalOnceAndANewFileAnEmptyOne()
    {
        File.WriteAllText(At("daemon.json"), "{ \"log-driver\": \"journald\" }");
        Sh.Must("chmod", "600", At("daemon.json"));
        await _host.WriteFileAsync(At("daemon.json"), "{ \"mtu\": 1450 }\n", At("daemon.json.bak"), default);
        await _host.WriteFileAsync(At("daemon.json"), "{ \"mtu\": 1400 }\n", At("daemon.json.bak"), default);
        Assert.Equal("{ \"log-driver\": \"journald\" }", File.ReadAllText(At("daemon.json.bak")));
        Assert.Equal("600", Sh.Must("stat", "-c", "%a", At("daemon.json.bak")).Trim());

        await _host.WriteFileAsync(At("new/daemon.json"), "{}\n", At("new/daemon.json.bak"), default);
        Assert.Equal("", File.ReadAllText(At("new/daemon.json.bak")));
    }

    /// <summary>A file is read by a process on every host (<see cref="HostFiles.ReadAsync"/>) but this one, where the agent reads it itself: both answer alike.</summary>
    private Task<string?> Read(bool here, string path) => here ? _host.ReadFileAsync(path, default) : HostFiles.ReadAsync(_host, path, default);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AFifoIsRefusedAtOnceNamingWhatItIs(bool here)
    {
        Sh.Must("mkfifo", At("daemon.json"));
        var clock = Stopwatch.StartNew();
        var read = await Assert.ThrowsAsync<HostFileException>(() => Read(here, At("daemon.json")));
        var write = await Assert.ThrowsAsync<HostFileException>(() => _host.WriteFileAsync(At("daemon.json"), "{}", null, default));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());
        Assert.Equal($"h: {At("daemon.json")} is a pipe (FIFO), not a regular file, and cannot be read (fix: make it a regular file, or name another path in the spec; overlayctl never opens anything else, which could block it forever)", read.Message);
        Assert.Contains("cannot be written", write.Message, StringComparison.Ordinal);
        Assert.Null(await Read(here, At("absent.json")));
        File.CreateSymbolicLink(At("dangling.json"), At("gone.json"));
        Assert.Null(await Read(here, At("dangling.json")));
        Assert.Null(await Read(here, At("daemon.json/below")));
        Directory.CreateDirectory(At("dir.json"));
        Assert.Contains("is a directory", (await Assert.ThrowsAsync<HostFileException>(() => Read(here, At("dir.json")))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWriteThatFailsLeavesNoTemporaryFileBehind()
    {
        File.WriteAllText(At("daemon.json"), "{}");
        Sh.Must("chattr", "+i", At("daemon.json"));
        try
        {
            var e = await Assert.ThrowsAsync<HostFileException>(() => _host.WriteFileAsync(At("daemon.json"), "{ \"mtu\": 1450 }\n", null, default));
            Assert.StartsWith($"h: {At("daemon.json")} cannot be written: ", e.Message, StringComparison.Ordinal);
            Assert.Contains("chattr -i", e.Message, StringComparison.Ordinal);
            Assert.Equal(["daemon.json"], Directory.EnumerateFileSystemEntries(_dir).Select(Path.GetFileName));
            Assert.Equal("{}", File.ReadAllText(At("daemon.json")));
        }
        finally
        {
            Sh.Run("chattr", "-i", At("daemon.json"));
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
