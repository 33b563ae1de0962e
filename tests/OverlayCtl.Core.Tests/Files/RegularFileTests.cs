using OverlayCtl.Core.Files;

namespace OverlayCtl.Core.Tests.Files;

public sealed class RegularFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ARegularFileIsReadAsText()
    {
        File.WriteAllText(_dir.Combine("spec.yaml"), "name: lab\n");
        Assert.True(RegularFile.TryReadText(_dir.Combine("spec.yaml"), out var text, out _));
        Assert.Equal("name: lab\n", text);
    }

    [Theory]
    [InlineData("{dir}/nosuch", "no such file")]
    [InlineData("{dir}/garbage.pem/x", "no such file (a part of the path is not a directory)")]
    [InlineData("{dir}/a-directory", "is a directory, not a file")]
    [InlineData("{dir}/fifo", "is a pipe (FIFO), not a regular file")]
    [InlineData("/dev/zero", "is a character device, not a regular file")]
    [InlineData("{dir}/big.yaml", "is larger than 1 MiB, the most overlayctl reads")]
    [InlineData("", "empty path")]
    public void AnythingButASmallRegularFileIsRefusedByNameWithoutOpeningIt(string path, string problem)
    {
        Assert.False(RegularFile.TryReadText(_dir.Expand([path])[0], out _, out var actual));
        Assert.Equal(problem, actual);
    }
}
