using OverlayCtl.Core.Agents;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Hosts.Connections;

namespace OverlayCtl.Hosts.Install;

/// <summary>
/// Reads what <c>agent install</c> owns on a host and carries out its steps, through the host's runner (local,
/// ssh, netns), with fixed <c>sh</c> programs that take every path as an argument (as <see cref="Connections.HostFiles"/>).
/// Content goes on standard input: a secret's marked <see cref="CommandSpec.SecretInput"/> (logs say only its
/// size), the binary streamed from the local file.
/// </summary>
public static class AgentInstaller
{
    /// <summary>
    /// $1 the directory of the binary markers, $2 this cluster's marker, then the files: prints "other" when another
    /// cluster's marker is there, and "SHA256 MODE PATH" for each file that exists.
    /// </summary>
    private const string ObserveProgram = """
        dir=$1; own=$2; shift 2
        for m in "$dir"/*.binary; do
          if [ -f "$m" ] && [ "$m" != "$own" ]; then echo other; break; fi
        done
        for p in "$@"; do
          if [ -f "$p" ]; then
            s=$(sha256sum < "$p") || exit 1
            printf '%s %s %s\n' "${s%% *}" "$(stat -c %a -- "$p")" "$p"
          fi
        done
        """;

    /// <summary>
    /// $1 the path, $2 its mode, $3 its directory's mode ("" to leave the directory as it is); the content on
    /// standard input. Written root's, with its mode, before it is renamed into place: never readable by others,
    /// not even for a moment; the temporary file is removed however the write ends.
    /// </summary>
    private const string PutProgram = """
        d=$(dirname -- "$1")
        mkdir -p -- "$d" || exit 1
        if [ -n "$3" ]; then chown 0:0 -- "$d" && chmod -- "$3" "$d" || exit 1; fi
        tmp="$d/.$(basename -- "$1").overlayctl-$$.tmp"
        trap 'rm -f -- "$tmp"' EXIT
        trap 'exit 1' HUP INT TERM
        umask 077
        cat > "$tmp" && chown 0:0 -- "$tmp" && chmod -- "$2" "$tmp" && mv -f -- "$tmp" "$1"
        """;

    /// <summary>The mode of the credentials directory.</summary>
    public const string SecretDirectoryMode = "700";

    /// <summary>What the host has of <paramref name="layout"/>'s files, and whether its unit is enabled and running.</summary>
    public static async Task<InstalledState> ObserveAsync(IHostRunner runner, AgentLayout layout, CancellationToken cancellationToken)
    {
        var markers = Path.GetDirectoryName(layout.Physical(layout.BinaryMarker))!;
        var listed = await runner.MustAsync(new CommandSpec("sh", ["-c", ObserveProgram, "sh", HostCommands.CheckedPath(markers), layout.Physical(layout.BinaryMarker), .. layout.Files.Select(f => HostCommands.CheckedPath(layout.Physical(f)))]), cancellationToken).ConfigureAwait(false);
        var files = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var others = false;
        foreach (var line in listed.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line == "other") { others = true; continue; }
            var parts = line.Split(' ', 3);
            files[parts[2][layout.Root.Length..]] = (parts[0], parts[1]);
        }
        var enabled = await SucceedsAsync(runner, ["is-enabled", "--quiet", layout.UnitName], cancellationToken).ConfigureAwait(false);
        var active = await SucceedsAsync(runner, ["is-active", "--quiet", layout.UnitName], cancellationToken).ConfigureAwait(false);
        return new InstalledState(files, enabled, active, others);
    }

    /// <summary>Carries out the steps in order; the first that fails stops the rest (<see cref="CommandFailedException"/>).</summary>
    public static async Task ExecuteAsync(IHostRunner runner, AgentLayout layout, IReadOnlyList<InstallStep> steps, CancellationToken cancellationToken)
    {
        foreach (var step in steps)
        {
            var command = step switch
            {
                PutFile put => Put(layout, put.File),
                RemovePath remove => CommandSpec.Of("rm", remove.Directory ? "-rf" : "-f", "--", HostCommands.CheckedPath(layout.Physical(remove.Path))),
                SystemctlStep systemctl => systemctl.ToCommand(),
                _ => throw new ArgumentOutOfRangeException(nameof(steps), step, "unknown install step"),
            };
            await runner.MustAsync(command, cancellationToken).ConfigureAwait(false);
        }
    }

    private static CommandSpec Put(AgentLayout layout, WantedFile file)
    {
        var arguments = new[] { "-c", PutProgram, "sh", HostCommands.CheckedPath(layout.Physical(file.Path)), file.Mode, file.Secret ? SecretDirectoryMode : "" };
        return file.Content.LocalPath is { } local
            ? new CommandSpec("sh", arguments) { InputFile = local }
            : new CommandSpec("sh", arguments, file.Content.Text, file.Secret);
    }

    private static async Task<bool> SucceedsAsync(IHostRunner runner, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        (await runner.RunAsync(new CommandSpec("systemctl", arguments), cancellationToken).ConfigureAwait(false)).Succeeded;
}
