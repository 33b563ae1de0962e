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

    public string Render()
    {
        var widths = Headers.Select((h, i) => _rows.Select(r => r[i].Length).Prepend(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells) =>
            text.AppendJoin("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).Append('\n');
        Line(Headers);
        foreach (var row in _rows) Line(row);
        return text.ToString();
    }
}
