using System.CommandLine;

namespace OverlayCtl.Cli.Commands;

/// <summary><c>overlayctl unlock -f SPEC</c>: clear a cluster lock whose run is gone.</summary>
internal static class UnlockCommand
{
    public static Command Create(CommandSet commands)
    {
        var spec = CommandSet.SpecOption();
        var command = new Command("unlock", "clear the cluster lock (only when the run holding it is gone: a crashed run's lock also expires by itself within 15 s)") { spec };
        command.SetAction(commands.Action(async (context, ct) =>
        {
            var cluster = context.LoadSpec(spec);
            var holder = await context.OpenLeaseStore(cluster).UnlockAsync(ct).ConfigureAwait(false);
            if (holder is null) context.Log.Information("the cluster is not locked");
            else context.Log.Warning("removed the cluster lock held by {Holder}", holder);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
