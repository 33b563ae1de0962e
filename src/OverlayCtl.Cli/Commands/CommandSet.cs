using System.CommandLine;

namespace OverlayCtl.Cli.Commands;

/// <summary>
/// Every command group, and the helpers they share. Adding a group means one file in this folder
/// plus one line in <see cref="All"/>.
/// </summary>
internal sealed class CommandSet(TextWriter stdout, TextWriter stderr, Terminal terminal)
{
    public IEnumerable<Command> All() =>
    [
        ValidateCommand.Create(this),
        LeasesCommands.Create(this),
        ConvergeCommands.Plan(this),
        ConvergeCommands.Apply(this),
        ConvergeCommands.Destroy(this),
        ConvergeCommands.RotateKeys(this),
        StatusCommand.Create(this),
        VerifyCommand.Create(this),
        DoctorCommand.Create(this),
        LabCommands.Create(this),
        UnlockCommand.Create(this),
        AgentCommand.Create(this),
        HelpCommands.Help(this, stdout),
        HelpCommands.Completion(this, stdout),
        HelpCommands.Complete(stdout),
        HelpCommands.ManPageCommand(this, stdout),
    ];

    /// <summary>The standard body wrapper: context, logging, exit-code mapping.</summary>
    public Func<ParseResult, CancellationToken, Task<int>> Action(Func<CliContext, CancellationToken, Task<int>> body) =>
        CommandLine.Action(stdout, stderr, terminal, body);

    /// <summary><c>--lock-timeout DURATION</c>, for the commands that take the cluster lock.</summary>
    public static Option<string?> LockTimeoutOption() => new("--lock-timeout")
    {
        Description = "wait this long (e.g. 30s, 5m) for another run's cluster lock; default: fail at once, naming its holder",
        HelpName = "DURATION",
    };

    /// <summary><c>-f/--file SPEC</c>; without it the spec is found as <see cref="SpecFile"/> says.</summary>
    public static Option<string?> SpecOption() => new("--file", "-f")
    {
        Description = $"the cluster spec (YAML; {SpecFile.DefaultDescription})",
        HelpName = "SPEC",
    };
}
