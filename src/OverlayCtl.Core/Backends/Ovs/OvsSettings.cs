using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Backends.Ovs;

/// <summary>
/// <c>network.ovs</c>. <see cref="Db"/> may contain <c>{host}</c>, so one machine can run an OVS per
/// namespace host; null means ovs-vsctl's default database. Read whatever the backend: lab up starts
/// the OVS daemons from it, and a switch away from ovs still has to find the bridge.
/// </summary>
public sealed record OvsSettings(string Bridge, string? Db, string DatapathType) : BackendSettings
{
    public static OvsSettings Default { get; } = new("br-overlay", null, "system");

    private static readonly string[] Keys = ["bridge", "db", "datapathType"];

    public string? DbFor(HostSpec host) => Db?.Replace("{host}", host.Name, StringComparison.Ordinal);

    internal static OvsSettings Read(BackendSpecContext context)
    {
        var settings = Default;
        if (context.Network.Mapping("ovs", "network.ovs", Keys) is { } ovs)
        {
            var bridge = ovs.InterfaceName("bridge", "ovs.bridge", Default.Bridge);
            string? db = null;
            if (ovs.Scalar("db", "an OVS database") is { } dbText)
            {
                if ((dbText.StartsWith("unix:/", StringComparison.Ordinal) || dbText.StartsWith("tcp:", StringComparison.Ordinal))
                    && !dbText.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) db = dbText;
                else ovs.Error("db", $"'{dbText}' is not an OVS database address", "write unix:/path/to/db.sock or tcp:HOST:PORT");
            }
            var datapath = Default.DatapathType;
            if (ovs.Scalar("datapathType", "a datapath type") is { } dt)
            {
                if (dt is "system" or "netdev") datapath = dt;
                else ovs.Error("datapathType", $"datapathType '{dt}' is not known", "use system (kernel datapath) or netdev (userspace)");
            }
            settings = new OvsSettings(bridge, db, datapath);
        }
        if (settings.Bridge == context.Docker.Bridge)
            // Point at whichever of the two the spec spelled out.
            context.Root.ErrorAtFirst($"{context.Docker.Bridge} cannot be both docker.bridge and network.ovs.bridge", "give the OVS bridge a name of its own (default br-overlay)",
                ["network", "ovs", "bridge"], ["docker", "bridge"]);
        return settings;
    }
}
