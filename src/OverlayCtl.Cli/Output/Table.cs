using System.Text;

namespace OverlayCtl.Cli.Output;

/// <summary>A plain column-aligned table for humans; scripts read -o json instead.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public string[] Headers { get; } = headers;

    public Table Add(params string?[] cells)
    {
        if (cells.Length != Headers.Length) throw new ArgumentException($"expected {Headers.Length} cells, got {cells.Length}", nameof(cells));
        _rows.Add(cells.Select(c => string.IsNullOrEmpty(c) ? "-" : c).ToArray());
        return this;
    }

    public int RowCount => _rows.Count;

    /// <summary>
    /// The aligned text; <paramref name="color"/> gives a cell's SGR code (or null), applied after padding
    /// so escape sequences never skew the columns.
    /// </summary>
    public string Render(Func<int, string, string?>? color = null)
    {
        var widths = Headers.Select((h, i) => _rows.Select(r => r[i].Length).Prepend(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells, bool header)
        {
            text.AppendJoin("  ", cells.Select((c, i) =>
            {
                var sgr = header ? null : color?.Invoke(i, c);
                var padded = i == cells.Count - 1 ? c : c.PadRight(widths[i]);
                return sgr is null ? padded : Colors.Paint(c, sgr, true) + padded[c.Length..];
            })).Append('\n');
        }
        Line(Headers, header: true);
        foreach (var row in _rows) Line(row, header: false);
        return text.ToString();
    }
}
