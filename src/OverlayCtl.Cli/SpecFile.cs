namespace OverlayCtl.Cli;

/// <summary>
/// Which spec a command reads when <c>-f</c> is not given, as kubectl finds its kubeconfig: <c>$OVERLAYCTL_SPEC</c>,
/// then <c>./cluster.yaml</c>. One-off inspection in a cluster's directory is then <c>overlayctl leases list</c>,
/// and a shell that exports the variable never repeats the path.
/// </summary>
internal static class SpecFile
{
    /// <summary>The variable naming the default spec.</summary>
    public const string Variable = "OVERLAYCTL_SPEC";

    /// <summary>The file read, in the working directory, when neither <c>-f</c> nor the variable names one.</summary>
    public const string DefaultName = "cluster.yaml";

    /// <summary>How the default reads in help text, so every <c>-f</c> says the same.</summary>
    public const string DefaultDescription = "default: $" + Variable + ", then ./" + DefaultName;

    /// <summary>
    /// The spec to read: the flag, else the variable (even if the file it names is missing: the loader then says so,
    /// naming it, rather than quietly reading another spec), else ./cluster.yaml when it exists; null when none applies.
    /// </summary>
    public static string? Find(string? flag, Func<string, string?> environment, Func<string, bool> exists)
    {
        if (flag is not null) return flag;
        if (environment(Variable) is { Length: > 0 } fromEnvironment) return fromEnvironment;
        return exists(DefaultName) ? DefaultName : null;
    }

    /// <summary>As <see cref="Find"/>, for a command that cannot run without a spec: none found is a usage error naming all three ways.</summary>
    public static string Resolve(string? flag, Func<string, string?> environment, Func<string, bool> exists) =>
        Find(flag, environment, exists)
        ?? throw new UsageException($"no cluster spec: -f was not given, ${Variable} is not set and there is no ./{DefaultName} (fix: pass -f SPEC, export {Variable}=SPEC, or run in the directory holding {DefaultName})");
}
