using System.Text;
using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Planning;
using OverlayCtl.Hosts.Connections;
using OverlayCtl.Hosts.Observe.Netlink;

namespace OverlayCtl.Hosts.Execute;

/// <summary>What executing one host's plan took.</summary>
public sealed record ExecutionResult(int OperationsApplied, int ProcessesSpawned, IReadOnlyList<CommandSpec> Commands);

/// <summary>
/// Carries out a host plan in order, batching so process count does not grow with peers:
/// consecutive <see cref="IpStep"/>s (or <see cref="BridgeStep"/>s) become one <c>-batch -</c> process,
/// consecutive <see cref="OvsStep"/>s for one database one ovs-vsctl transaction, and every
/// <see cref="IptablesStep"/> of the plan one <c>iptables-restore --noflush</c> payload. A replacement's
/// steps join the batches like any others. On the host overlayctl runs on (<see cref="IHereHost"/>: an
/// agent), a peer's neighbour, fdb and route steps are written over rtnetlink instead (<see cref="RtnetlinkWriter"/>):
/// a join costs no process at all.
/// </summary>
public static class PlanExecutor
{
    /// <summary>A step and the operation it belongs to, so a failing batch line names that operation.</summary>
    private sealed record Planned(Step Step, Operation Operation);

    public static async Task<ExecutionResult> ExecuteAsync(IHostRunner runner, HostPlan plan, CancellationToken cancellationToken)
    {
        var commands = new List<CommandSpec>();
        var steps = plan.Operations.SelectMany(o => o.Steps.Select(s => new Planned(s, o))).ToList();
        var iptablesDone = new HashSet<bool>();
        var kernel = (runner as IHereHost)?.Kernel;
        for (var i = 0; i < steps.Count;)
        {
            if (kernel is not null && RtnetlinkWriter.CanWrite(steps[i].Step))
            {
                i += Write(kernel, runner.HostName, steps, i);
                continue;
            }
            switch (steps[i].Step)
            {
                case IpStep:
                    i += await BatchAsync<IpStep>(runner, IpStep.Program, steps, i, s => s.ToCommand(), commands, cancellationToken).ConfigureAwait(false);
                    break;
                case BridgeStep:
                    i += await BatchAsync<BridgeStep>(runner, BridgeStep.Program, steps, i, s => s.ToCommand(), commands, cancellationToken).ConfigureAwait(false);
                    break;
                case OvsStep first:
                    var chain = steps.Skip(i).TakeWhile(p => p.Step is OvsStep o && o.Db == first.Db).ToList();
                    await MustAsync(runner, OvsTransaction(chain.Select(p => (OvsStep)p.Step)), chain, commands, cancellationToken).ConfigureAwait(false);
                    i += chain.Count;
                    break;
                case CommandStep single:
                    await MustAsync(runner, single.Command, [steps[i]], commands, cancellationToken).ConfigureAwait(false);
                    i++;
                    break;
                case IptablesStep table:
                    // One payload per family: iptables-restore for IPv4, ip6tables-restore for IPv6.
                    if (iptablesDone.Add(table.Ipv6))
                    {
                        var all = steps.Where(p => p.Step is IptablesStep t && t.Ipv6 == table.Ipv6).ToList();
                        var restore = new CommandSpec(table.Program, ["--noflush", "--wait=5"], IptablesPayload(all.Select(p => (IptablesStep)p.Step)));
                        await MustAsync(runner, restore, all, commands, cancellationToken).ConfigureAwait(false);
                    }
                    i++;
                    break;
                case FileStep file:
                    if (file.Content is null) await runner.DeleteFileAsync(file.Path, cancellationToken).ConfigureAwait(false);
                    else await runner.WriteFileAsync(file.Path, file.Content, file.Backup, cancellationToken).ConfigureAwait(false);
                    i++;
                    break;
                default:
                    throw new InvalidOperationException($"no way to execute {steps[i].Step.GetType().Name}");
            }
        }
        return new ExecutionResult(plan.Operations.Count, commands.Count, commands);
    }

    /// <summary>Runs the consecutive steps of type <typeparamref name="T"/> from <paramref name="start"/>: alone, or as one <c>-batch -</c>; returns how many.</summary>
    private static async Task<int> BatchAsync<T>(IHostRunner runner, string program, List<Planned> steps, int start, Func<T, CommandSpec> command, List<CommandSpec> log, CancellationToken cancellationToken)
        where T : Step
    {
        var run = steps.Skip(start).TakeWhile(p => p.Step is T).ToList();
        var spec = run.Count == 1
            ? command((T)run[0].Step)
            : new CommandSpec(program, ["-batch", "-"], BatchInput(run.Select(p => command((T)p.Step))));
        await MustAsync(runner, spec, run, log, cancellationToken).ConfigureAwait(false);
        return run.Count;
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
    /// Chains ovs-vsctl commands for one database into one invocation: <c>ovs-vsctl OPTIONS -- CMD1 -- CMD2 ...</c>,
    /// which ovs-vsctl commits as one transaction.
    /// </summary>
    public static CommandSpec OvsTransaction(IEnumerable<OvsStep> steps)
    {
        var list = steps.ToList();
        var db = list[0].Db;
        var args = new List<string>(OvsStep.Options(db));
        foreach (var step in list)
        {
            if (step.Db != db) throw new ArgumentException("ovs-vsctl commands for different databases cannot share a transaction", nameof(steps));
            args.Add("--");
            args.AddRange(step.Arguments);
        }
        return new CommandSpec(OvsStep.Program, args);
    }

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

    /// <summary>
    /// On the host overlayctl runs on, the consecutive steps from <paramref name="start"/> that a peer's entries
    /// are made of (neighbours, fdb, routes), written over rtnetlink instead of by <c>ip</c>/<c>bridge -batch</c>;
    /// returns how many. A refusal fails as the command would have, naming the operation.
    /// </summary>
    private static int Write(HostKernel kernel, string host, List<Planned> steps, int start)
    {
        var run = steps.Skip(start).TakeWhile(p => RtnetlinkWriter.CanWrite(p.Step)).ToList();
        var indexes = kernel.Reader.ReadLinks().ToDictionary(l => l.Name, l => l.Index, StringComparer.Ordinal);
        foreach (var planned in run)
        {
            try
            {
                kernel.Writer.Write(planned.Step, name => indexes.TryGetValue(name, out var index) ? index : null);
            }
            catch (NetlinkException e)
            {
                var command = planned.Step is IpStep ip ? ip.ToCommand() : ((BridgeStep)planned.Step).ToCommand();
                throw new CommandFailedException(host, command, new CommandResult(2, "", $"{e.Message} (operation: {planned.Operation.Address}: {planned.Step.Render()})"));
            }
        }
        return run.Count;
    }

    private static async Task MustAsync(IHostRunner runner, CommandSpec command, IReadOnlyList<Planned> covering, List<CommandSpec> log, CancellationToken cancellationToken)
    {
        log.Add(command);
        var result = await runner.RunAsync(command, cancellationToken).ConfigureAwait(false);
        if (result.Succeeded) return;
        var detail = result;
        // iproute2 reports "Command failed -:N" for the Nth batch line: name the operation.
        var marker = result.StandardError.IndexOf("Command failed -:", StringComparison.Ordinal);
        if (marker >= 0 && int.TryParse(new string(result.StandardError[(marker + 17)..].TakeWhile(char.IsAsciiDigit).ToArray()), out var line) && line >= 1 && line <= covering.Count)
            detail = result with { StandardError = $"{result.StandardError.Trim()} (operation: {covering[line - 1].Operation.Address}: {covering[line - 1].Step.Render()})" };
        // A command of one operation (a sysctl, a file, one OVS step) names it too, so the recap says what failed.
        else if (covering.Select(p => p.Operation).Distinct().Count() == 1)
            detail = result with { StandardError = $"{result.StandardError.Trim()} (operation: {covering[0].Operation.Address})" };
        throw new CommandFailedException(runner.HostName, command, detail);
    }
}
