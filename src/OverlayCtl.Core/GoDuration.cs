using System.Globalization;

namespace OverlayCtl.Core;

/// <summary>Durations as etcdctl and flannel write them (Go's time.ParseDuration): the spec, the flags and the variables all read them one way.</summary>
public static class GoDuration
{
    /// <summary>Go's time.ParseDuration, as etcdctl reads its timeouts: "1.5s", "1m30s", "500ms"; only positive values.</summary>
    public static TimeSpan? Parse(string text)
    {
        var total = 0.0;
        var i = 0;
        if (text.Length == 0) return null;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (!double.TryParse(text.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)) return null;
            var unitStart = i;
            while (i < text.Length && !char.IsAsciiDigit(text[i]) && text[i] != '.') i++;
            double? ticksPerUnit = text[unitStart..i] switch
            {
                "ns" => 0.01,
                "us" or "µs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => null,
            };
            if (ticksPerUnit is not { } unit) return null;
            total += number * unit;
        }
        return total >= 1 && total < TimeSpan.MaxValue.Ticks ? TimeSpan.FromTicks((long)total) : null;
    }
}
