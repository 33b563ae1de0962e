namespace OverlayCtl.Core.Hosts;

/// <summary>Where overlayctl keeps runtime state on a host (tmpfs: gone at reboot, as the state it describes).</summary>
public static class RunPaths
{
    public const string Root = "/run/overlayctl";

    /// <summary>An agent's record of its last convergence, which status reads.</summary>
    public static string AgentState(string cluster, string host) => $"{Root}/agent-{cluster}-{host}.json";

    /// <summary>A namespace lab's agent pid files and logs.</summary>
    public static string LabDirectory(string cluster) => $"{Root}/lab/{cluster}";
}
