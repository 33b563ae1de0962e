using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OverlayCtl.Core.Leases;

/// <summary>
/// Who holds the cluster lock: enough for an operator to find the run (or its remains) and decide
/// whether <c>overlayctl unlock</c> is safe.
/// </summary>
public sealed record LockHolder(string User, string Machine, int Pid, string Command, DateTimeOffset Since)
{
    /// <summary>The holder of this process, running <paramref name="command"/>.</summary>
    public static LockHolder Current(string command) => new(
        Environment.UserName, Environment.MachineName, Environment.ProcessId, command, DateTimeOffset.UtcNow);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{User}@{Machine} pid {Pid} running '{Command}' since {Since:yyyy-MM-ddTHH:mm:ssZ}");

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("user", User);
            w.WriteString("machine", Machine);
            w.WriteNumber("pid", Pid);
            w.WriteString("command", Command);
            w.WriteString("since", Since.ToString("O", CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The holder a lock key names; a value that is not one is shown as it is.</summary>
    public static string Describe(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            if (r.ValueKind == JsonValueKind.Object && r.TryGetProperty("user", out var u) && r.TryGetProperty("machine", out var m)
                && r.TryGetProperty("pid", out var p) && p.TryGetInt32(out var pid) && r.TryGetProperty("command", out var c)
                && r.TryGetProperty("since", out var s) && DateTimeOffset.TryParse(s.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since))
                return new LockHolder(u.GetString() ?? "?", m.GetString() ?? "?", pid, c.GetString() ?? "?", since).ToString();
        }
        catch (JsonException)
        {
        }
        return json;
    }
}

/// <summary>Another run holds the cluster lock; the message names it and the way out.</summary>
public sealed class ClusterLockedException(string message) : Exception(message);
