namespace OverlayCtl.Core.Hosts;

/// <summary>Where overlayctl keeps runtime state on a host (tmpfs: gone at reboot, as the state it describes).</summary>
public static class RunPaths
{
    public const string Root = "/run/overlayctl";

    /// <summary>An agent's record of its last convergence, which status reads.</summary>
    public static string AgentState(string cluster, string host) => $"{Root}/agent-{cluster}-{host}.json";

    /// <summary>
    /// Directories that stand in for a namespace host's own <c>/run/NAME</c>: each <c>NAME</c> under it is mounted over
    /// <c>/run/NAME</c> for every command the host runs (<c>/run/wireguard</c>, where wireguard-go and wg meet, would
    /// otherwise be one for every namespace on the machine). None unless a lab makes them.
    /// </summary>
    public static string NetnsPrivate(string netns) => $"{Root}/netns/{netns}";

    /// <summary>A namespace lab's agent pid files and logs.</summary>
    public static string LabDirectory(string cluster) => $"{Root}/lab/{cluster}";
}
