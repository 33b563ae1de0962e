using System.Text;

namespace OverlayCtl.Core.Planning;

/// <summary>Renders a plan for people: per host, each operation with its exact commands, then the summary.</summary>
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
                text.Append("  ").Append(op.Sign).Append(' ').Append(op.Title).Append('\n');
                foreach (var step in op.Steps) text.Append("      ").Append(step.Render()).Append('\n');
            }
            foreach (var warning in host.Warnings) text.Append("  ! ").Append(warning).Append('\n');
            text.Append("  ").Append(host.Summary).Append('\n');
        }
        return text.ToString();
    }
}
