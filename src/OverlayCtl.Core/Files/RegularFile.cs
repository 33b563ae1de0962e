using System.Globalization;
using System.Runtime.InteropServices;

namespace OverlayCtl.Core.Files;

/// <summary>
/// Reads the small local inputs an operator names (the spec, PEM files) only from regular files of
/// bounded size. A directory, a device or a pipe named by mistake is refused by name before it is
/// opened: opening a FIFO blocks until a writer comes (and the process then ignores SIGTERM), and
/// /dev/zero never ends.
/// </summary>
public static class RegularFile
{
    /// <summary>The largest input read: a spec or a CA bundle is a few KiB; anything bigger is a wrong path.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>
    /// Reads <paramref name="path"/> as UTF-8 text, or says why not: <paramref name="problem"/> is a
    /// phrase printed after "PATH: ", e.g. "no such file" or "is a directory, not a file".
    /// </summary>
    public static bool TryReadText(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem) =>
        TryReadText(path, MaxBytes, out text, out problem);

    /// <summary>As <see cref="TryReadText(string, out string?, out string?)"/>, for files that may be larger (a saved plan of many hosts).</summary>
    public static bool TryReadText(string path, int maxBytes, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        text = null;
        problem = Check(path, maxBytes);
        if (problem is not null) return false;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            // Bounded even if the file grew since it was checked.
            var buffer = new byte[maxBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0) length += read;
            if (length > maxBytes)
            {
                problem = TooLargeFor(maxBytes);
                return false;
            }
            text = new System.Text.UTF8Encoding(false, false).GetString(buffer, 0, length);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            problem = "cannot be read: permission denied";
        }
        catch (IOException e)
        {
            problem = "cannot be read: " + e.Message;
        }
        return false;
    }

    private static string TooLargeFor(int maxBytes) => string.Create(CultureInfo.InvariantCulture, $"is larger than {maxBytes / 1024 / 1024} MiB, the most overlayctl reads");

    /// <summary>Null when <paramref name="path"/> is a regular file (symbolic links followed) within the size limit; else why not.</summary>
    public static string? Check(string path) => Check(path, MaxBytes);

    /// <summary>As <see cref="Check(string)"/>, with another size limit (a binary to copy).</summary>
    public static string? Check(string path, int maxBytes)
    {
        if (path.Length == 0) return "empty path";
        if (path.Contains('\0', StringComparison.Ordinal)) return "a path with a NUL character";
        if (Native.statx(Native.AtFdCwd, path, 0, Native.StatxType | Native.StatxSize, out var status) != 0)
        {
            return Marshal.GetLastPInvokeError() switch
            {
                Native.ENOENT => "no such file",
                Native.ENOTDIR => "no such file (a part of the path is not a directory)",
                Native.EACCES => "permission denied on a directory in the path",
                Native.ELOOP => "a loop of symbolic links",
                Native.ENAMETOOLONG => "path too long",
                var errno => string.Create(CultureInfo.InvariantCulture, $"cannot be examined (errno {errno})"),
            };
        }
        return (status.Mode & Native.SIfmt) switch
        {
            Native.SIfreg => status.Size > (ulong)maxBytes ? TooLargeFor(maxBytes) : null,
            Native.SIfdir => "is a directory, not a file",
            Native.SIfifo => "is a pipe (FIFO), not a regular file",
            Native.SIfchr => "is a character device, not a regular file",
            Native.SIfblk => "is a block device, not a regular file",
            Native.SIfsock => "is a socket, not a regular file",
            _ => "is not a regular file",
        };
    }

    /// <summary>
    /// statx(2): its buffer has one layout on every Linux architecture, unlike stat(2)'s, and .NET has
    /// no managed way to tell a FIFO or a device from a file without opening it.
    /// </summary>
    private static class Native
    {
        public const int AtFdCwd = -100;
        public const uint StatxType = 0x1;
        public const uint StatxSize = 0x200;
        public const int ENOENT = 2;
        public const int EACCES = 13;
        public const int ENOTDIR = 20;
        public const int ENAMETOOLONG = 36;
        public const int ELOOP = 40;
        public const int SIfmt = 0xF000;
        public const int SIfifo = 0x1000;
        public const int SIfchr = 0x2000;
        public const int SIfdir = 0x4000;
        public const int SIfblk = 0x6000;
        public const int SIfreg = 0x8000;
        public const int SIfsock = 0xC000;

        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out Statx buffer);
    }

    /// <summary>struct statx: only the fields read here, at their fixed offsets.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(40)] public ulong Size;
    }
}
