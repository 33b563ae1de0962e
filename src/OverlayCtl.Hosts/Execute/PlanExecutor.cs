using System.Text;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Planning;

namespace OverlayCtl.Hosts.Execute;

/// <summary>What executing one host's plan took.</summary>
public sealed record ExecutionResult(int OperationsApplied, int ProcessesSpawned, IReadOnlyList<CommandSpec> Commands);

/// <summary>
/// Carries out a host plan in order, batching so process count does not grow with peers:
/// consecutive <c>ip</c> (or <c>bridge</c>) steps become one <c>-batch -</c> process, and every
/// iptables step of the plan becomes one <c>iptables-restore --noflush</c> payload.
/// </summary>
public static class PlanExecutor
{
    private static readonly string[] Batchable = ["ip", "bridge"];

    public static async Task<ExecutionResult> ExecuteAsync(IHostRunner runner, HostPlan plan, CancellationToken cancellationToken)
    {
        var commands = new List<CommandSpec>();
        var ops = plan.Operations;
        var iptablesDone = false;
        for (var i = 0; i < ops.Count;)
        {
            switch (ops[i].Step)
            {
                case CommandStep { Command.Program: var program } when Batchable.Contains(program):
                    var run = ops.Skip(i).TakeWhile(o => o.Step is CommandStep c && c.Command.Program == program).ToList();
                    if (run.Count == 1)
                    {
                        await MustAsync(runner, ((CommandStep)run[0].Step).Command, run, commands, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        var batch = new CommandSpec(program, ["-batch", "-"], BatchInput(run.Select(o => ((CommandStep)o.Step).Command)));
                        await MustAsync(runner, batch, run, commands, cancellationToken).ConfigureAwait(false);
                    }
                    i += run.Count;
                    break;
                case CommandStep { Command.Program: "ovs-vsctl" } first:
                    var prefix = OvsPrefix(first.Command);
                    var chain = ops.Skip(i).TakeWhile(o => o.Step is CommandStep { Command.Program: "ovs-vsctl" } c && OvsPrefix(c.Command).SequenceEqual(prefix)).ToList();
                    await MustAsync(runner, OvsTransaction(chain.Select(o => ((CommandStep)o.Step).Command)), chain, commands, cancellationToken).ConfigureAwait(false);
                    i += chain.Count;
                    break;
                case CommandStep single:
                    await MustAsync(runner, single.Command, [ops[i]], commands, cancellationToken).ConfigureAwait(false);
                    i++;
                    break;
                case IptablesStep:
                    if (!iptablesDone)
                    {
                        var steps = ops.Select(o => o.Step).OfType<IptablesStep>().ToList();
                        var restore = new CommandSpec("iptables-restore", ["--noflush", "--wait=5"], IptablesPayload(steps));
                        await MustAsync(runner, restore, ops.Where(o => o.Step is IptablesStep).ToList(), commands, cancellationToken).ConfigureAwait(false);
                        iptablesDone = true;
                    }
                    i++;
                    break;
                case FileStep file:
                    if (file.Content is null) await runner.DeleteFileAsync(file.Path, cancellationToken).ConfigureAwait(false);
                    else await runner.WriteFileAsync(file.Path, file.Content, cancellationToken).ConfigureAwait(false);
                    i++;
                    break;
                default:
                    throw new InvalidOperationException($"no way to execute {ops[i].Step.GetType().Name}");
            }
        }
        return new ExecutionResult(ops.Count, commands.Count, commands);
    }

    /// <summary>One line per command; batch lines are split on whitespace, so arguments must not contain any.</summary>
    public static string BatchInput(IEnumerable<CommandSpec> commands)
    {
        var text = new StringBuilder();
        foreach (var command in commands)
        {
            foreach (var arg in command.Arguments)
                if (arg.Length == 0 || arg.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or '#'))
                    throw new ArgumentException($"'{arg}' cannot go into an {command.Program} batch line", nameof(commands));
            text.AppendJoin(' ', command.Arguments).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// Chains ovs-vsctl commands that share their global options (database, timeout) into one
    /// invocation: <c>ovs-vsctl OPTIONS -- CMD1 -- CMD2 ...</c>, which ovs-vsctl commits as one transaction.
    /// </summary>
    public static CommandSpec OvsTransaction(IEnumerable<CommandSpec> commands)
    {
        var list = commands.ToList();
        var prefix = OvsPrefix(list[0]);
        var args = new List<string>(prefix);
        foreach (var command in list)
        {
            if (!OvsPrefix(command).SequenceEqual(prefix)) throw new ArgumentException("ovs-vsctl commands with different options cannot share a transaction", nameof(commands));
            args.AddRange(command.Arguments.Skip(prefix.Count));
        }
        return new CommandSpec("ovs-vsctl", args);
    }

    /// <summary>The global options of an ovs-vsctl command: everything before its first <c>--</c>.</summary>
    private static List<string> OvsPrefix(CommandSpec command) => command.Arguments.TakeWhile(a => a != "--").ToList();

    /// <summary>Groups lines by table, in order of first appearance, each table closed by COMMIT.</summary>
    public static string IptablesPayload(IEnumerable<IptablesStep> steps)
    {
        var byTable = new List<(string Table, List<string> Lines)>();
        foreach (var step in steps)
        {
            var entry = byTable.FirstOrDefault(t => t.Table == step.Table);
            if (entry.Lines is null)
            {
                entry = (step.Table, []);
                byTable.Add(entry);
            }
            entry.Lines.AddRange(step.Lines);
        }
        var text = new StringBuilder();
        foreach (var (table, lines) in byTable)
        {
            text.Append('*').Append(table).Append('\n');
            // Chain declarations must precede the rules that use them.
            foreach (var line in lines.Where(l => l.StartsWith(':'))) text.Append(line).Append('\n');
            foreach (var line in lines.Where(l => !l.StartsWith(':'))) text.Append(line).Append('\n');
            text.Append("COMMIT\n");
        }
        return text.ToString();
    }

    private static async Task MustAsync(IHostRunner runner, CommandSpec command, IReadOnlyList<Operation> covering, List<CommandSpec> log, CancellationToken cancellationToken)
    {
        log.Add(command);
        var result = await runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (result.Succeeded) return;
        var detail = result;
        // iproute2 reports "Command failed -:N" for the Nth batch line: name the operation.
        var marker = result.StandardError.IndexOf("Command failed -:", StringComparison.Ordinal);
        if (marker >= 0 && int.TryParse(new string(result.StandardError[(marker + 17)..].TakeWhile(char.IsAsciiDigit).ToArray()), out var line) && line >= 1 && line <= covering.Count)
            detail = result with { StandardError = $"{result.StandardError.Trim()} (operation: {covering[line - 1].Resource}: {covering[line - 1].Step.Render()})" };
        throw new CommandFailedException(runner.HostName, command, detail);
    }
}
