using System.Text;

namespace OverlayCtl.Core.Planning;

/// <summary>Renders a plan for people: per host, each operation with its exact command, then the summary.</summary>
public static class PlanRenderer
{
    public static string Render(Plan plan)
    {
        var text = new StringBuilder();
        foreach (var host in plan.Hosts)
        {
            text.Append("# ").Append(host.Host).Append('\n');
            foreach (var op in host.Operations)
            {
                var sign = op.Kind switch { ChangeKind.Add => '+', ChangeKind.Change => '~', _ => '-' };
                text.Append("  ").Append(sign).Append(' ').Append(op.Resource).Append('\n');
                text.Append("      ").Append(op.Step.Render()).Append('\n');
            }
            text.Append("  ").Append(host.Summary).Append('\n');
        }
        return text.ToString();
    }
}
