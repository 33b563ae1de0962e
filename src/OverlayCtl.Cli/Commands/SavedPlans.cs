using System.Text.Json;
using OverlayCtl.Core;
using OverlayCtl.Core.Files;
using OverlayCtl.Engine;

namespace OverlayCtl.Cli.Commands;

/// <summary>Plan files: written whole or not at all, readable only by their owner; read back only as the format they claim.</summary>
internal static class SavedPlans
{
    /// <summary>A plan of thousands of hosts is a few MiB; more is not a plan file.</summary>
    private const int MaxBytes = 16 * 1024 * 1024;

    public static void Write(string path, PlanDocument plan)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            {
                JsonSerializer.Serialize(stream, plan, ConvergeJsonContext.Default.PlanDocument);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new InputException($"cannot save the plan to {path}: {e.Message}");
        }
    }

    public static PlanDocument Read(string path)
    {
        if (!RegularFile.TryReadText(path, MaxBytes, out var text, out var problem))
            throw new InputException($"{path}: {problem} (pass a plan saved by overlayctl plan -out FILE)");
        PlanDocument? plan;
        try
        {
            plan = JsonSerializer.Deserialize(text, ConvergeJsonContext.Default.PlanDocument);
        }
        catch (JsonException e)
        {
            throw new InputException($"{path} is not a plan saved by overlayctl plan -out ({e.Message})");
        }
        if (plan?.Format != PlanDocument.CurrentFormat || plan.Hosts is null || plan.Spec is null || plan.Etcd is null)
            throw new InputException($"{path} is not a {PlanDocument.CurrentFormat} plan (format: {plan?.Format ?? "none"}); save it again with this overlayctl's plan -out");
        return plan;
    }
}
