using System.Globalization;

namespace OverlayCtl.Hosts.Observe.Netlink;

/// <summary>
/// A route's protocol number as <c>ip route</c> prints it: iproute2's built-in names, overridden and
/// extended by the host's <c>rt_protos</c> files (read once), else the number in decimal ("211"), which
/// is how overlayctl's own routes are recognised.
/// </summary>
internal static class RouteProtocols
{
    private static readonly Lazy<string?[]> Names = new(Load);

    public static string Name(byte protocol) => Names.Value[protocol] ?? protocol.ToString(CultureInfo.InvariantCulture);

    /// <summary>iproute2's lib/rt_names.c table, then its files in the order it reads them.</summary>
    private static string?[] Load()
    {
        var names = new string?[256];
        names[0] = "unspec";
        names[1] = "redirect";
        names[2] = "kernel";
        names[3] = "boot";
        names[4] = "static";
        names[8] = "gated";
        names[9] = "ra";
        names[10] = "mrt";
        names[11] = "zebra";
        names[12] = "bird";
        names[13] = "dnrouted";
        names[14] = "xorp";
        names[15] = "ntk";
        names[16] = "dhcp";
        names[18] = "keepalived";
        names[42] = "babel";
        names[186] = "bgp";
        names[187] = "isis";
        names[188] = "ospf";
        names[189] = "rip";
        names[192] = "eigrp";
        // iproute2 up to 6.4 reads /etc/iproute2 only; later ones fall back to the distribution's copy.
        string[] directories = ["/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"];
        var main = directories.Select(d => Path.Combine(d, "rt_protos")).FirstOrDefault(File.Exists);
        if (main is not null) Read(main, names);
        foreach (var directory in directories.Select(d => Path.Combine(d, "rt_protos.d")).Where(Directory.Exists))
        {
            foreach (var file in Directory.GetFiles(directory, "*.conf").Order(StringComparer.Ordinal))
                Read(file, names);
        }
        return names;
    }

    /// <summary>Lines "NUMBER NAME", the number decimal or 0x hex, '#' comments; a bad line is skipped.</summary>
    private static void Read(string path, string?[] names)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }
        foreach (var raw in lines)
        {
            var line = raw.TrimStart(' ', '\t');
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) continue;
            var ok = parts[0].StartsWith("0x", StringComparison.Ordinal)
                ? int.TryParse(parts[0].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var id)
                : int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out id);
            if (!ok || id is < 0 or > 255) continue;
            names[id] = parts[1];
        }
    }
}
