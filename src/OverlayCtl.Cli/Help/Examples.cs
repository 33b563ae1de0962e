namespace OverlayCtl.Cli.Help;

/// <summary>
/// The examples of every command, by command path ("leases list"): shown at the end of its <c>--help</c> and in the
/// man page's EXAMPLES, so both say the same. An example may carry what the command prints (plan, apply and doctor
/// do), cut to a few lines but in the exact shape overlayctl prints it.
/// </summary>
internal static class Examples
{
    /// <summary>One example: the command line, what it is for, and optionally an excerpt of its output.</summary>
    public sealed record Example(string CommandLine, string What, string? Output = null);

    public static IReadOnlyList<Example> For(string path) => ByCommand.TryGetValue(path, out var list) ? list : [];

    public static readonly IReadOnlyDictionary<string, IReadOnlyList<Example>> ByCommand = new Dictionary<string, IReadOnlyList<Example>>
    {
        [""] =
        [
            new("overlayctl validate -f cluster.yaml", "check a spec; touches no etcd and no host"),
            new("overlayctl apply", "converge every host of ./cluster.yaml (or $OVERLAYCTL_SPEC)"),
            new("overlayctl help spec", "every spec key; also: help backends, environment, exit-codes, output"),
        ],
        ["validate"] =
        [
            new("overlayctl validate -f cluster.yaml", "every problem as file:line:column with its fix; exit 1 if any"),
            new("overlayctl validate -o json", "the resolved settings of ./cluster.yaml, for a script"),
        ],
        ["leases"] =
        [
            new("overlayctl leases list", "the leases of ./cluster.yaml's cluster"),
            new("overlayctl leases list --endpoints http://10.0.0.5:2379 --prefix /coreos.com/network", "a flannel network, with no spec"),
        ],
        ["leases allocate"] = [new("overlayctl leases allocate -f cluster.yaml", "every spec host holds a lease; prints them")],
        ["leases list"] =
        [
            new("overlayctl leases list -o json", "the leases of ./cluster.yaml's cluster, for a script"),
            new("ETCDCTL_ENDPOINTS=http://10.0.0.5:2379 overlayctl leases list --prefix /coreos.com/network", "a flannel network, with no spec"),
        ],
        ["leases release"] =
        [
            new("overlayctl leases release -f cluster.yaml node3", "free node3's subnet"),
            new("overlayctl leases release -f cluster.yaml --key KEY", "delete a key leases list reports as unreadable"),
        ],
        ["leases gc"] =
        [
            new("overlayctl leases gc -f cluster.yaml", "list leases whose holder left the spec, and unreadable keys"),
            new("overlayctl leases gc -f cluster.yaml --yes", "delete them"),
        ],
        ["plan"] =
        [
            new("overlayctl plan -f cluster.yaml --limit node1", "what apply would run on node1 after node3 joined the spec", """
                # node1
                  + neigh 10.244.3.0
                      ip neigh replace 10.244.3.0 dev flannel.1 lladdr c6:10:f9:2c:da:6c nud permanent
                  + fdb c6:10:f9:2c:da:6c
                      bridge fdb replace c6:10:f9:2c:da:6c dev flannel.1 self dst 198.18.165.13 permanent
                  + route 10.244.3.0/24
                      ip route replace 10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink proto 211
                  node1: 3 to add, 0 to change, 0 to remove
                """),
            new("overlayctl plan --detailed-exitcode", "in CI: exit 0 nothing to do, 2 changes pending, 1 error"),
            new("overlayctl plan -f cluster.yaml -out p.json", "save the plan; apply -f cluster.yaml p.json applies exactly it"),
        ],
        ["apply"] =
        [
            new("overlayctl apply -f cluster.yaml --auto-approve", "lease every host, converge every host, print the recap", """
                HOST   SUBNET         RESULT   ADD  CHANGE  REPLACE  REMOVE  DETAIL
                node1  10.244.1.0/24  changed  3    0       0        0       -
                node2  10.244.2.0/24  ok       0    0       0        0       -
                node3  10.244.3.0/24  changed  21   0       0        0       -
                """),
            new("overlayctl apply -f cluster.yaml --limit node3 --parallel 1", "converge only node3 (every host still gets its lease)"),
            new("overlayctl apply -f cluster.yaml p.json", "apply exactly the plan saved by plan -out, or nothing (exit 7)"),
        ],
        ["destroy"] =
        [
            new("overlayctl destroy -f cluster.yaml --dry-run", "what destroy would remove; changes nothing"),
            new("overlayctl destroy -f cluster.yaml --release-leases --auto-approve", "remove what overlayctl made, and the leases, without asking"),
        ],
        ["rotate-keys"] = [new("overlayctl rotate-keys -f cluster.yaml --limit node2", "wireguard: a new key pair on node2, then every peer converged")],
        ["status"] =
        [
            new("overlayctl status", "each host's lease, device, peers, rules, files and drift; exit 2 on drift"),
            new("overlayctl status -o json --limit node1,node2", "the same for two hosts, for a script"),
        ],
        ["verify"] =
        [
            new("overlayctl verify -f cluster.yaml", "a probe container per host pings and connects to every other"),
            new("overlayctl verify --limit node1,node2 --parallel 1", "one pair, one probe at a time"),
        ],
        ["doctor"] =
        [
            new("overlayctl doctor -f cluster.yaml node2", "the named checks on node2, each problem with its fix", """
                ✗ node2 [ip-forward] net.ipv4.ip_forward is 0: the host does not route between the overlay and its containers
                    fix: sysctl -w net.ipv4.ip_forward=1 (overlayctl apply sets it)
                ✗ node2 [forward-policy] FORWARD policy is DROP (Docker sets it) and overlayctl's accept rules are missing: traffic between hosts' containers is dropped
                    fix: overlayctl apply (adds OVERLAYCTL-FWD ahead of it)
                """),
            new("overlayctl doctor -o json", "every host of ./cluster.yaml; exit 5 when a check fails"),
        ],
        ["lab"] = [new("overlayctl lab up -f samples/lab.yaml", "the spec's netns:// hosts as namespaces on this machine")],
        ["lab up"] = [new("overlayctl lab up -f samples/lab.yaml", "namespaces, veths and an underlay bridge; idempotent")],
        ["lab down"] = [new("overlayctl lab down -f samples/lab.yaml", "remove what lab up made")],
        ["lab agents"] = [new("overlayctl lab agents up -f samples/lab.yaml", "one agent per namespace host")],
        ["lab agents up"] = [new("overlayctl lab agents up -f samples/lab.yaml --resync 10s", "start the agents that are not running")],
        ["lab agents down"] = [new("overlayctl lab agents down -f samples/lab.yaml", "stop them; the network stays")],
        ["unlock"] = [new("overlayctl unlock -f cluster.yaml", "clear the lock of a run that is gone")],
        ["agent"] = [new("overlayctl agent -f /etc/overlayctl/prod/cluster.yaml --host node1", "on node1: keep it converged until SIGTERM")],
        ["agent install"] =
        [
            new("overlayctl agent install -f cluster.yaml --dry-run", "what would be copied and written on each host"),
            new("overlayctl agent install -f cluster.yaml --user agent --password-file pw", "the agent as a systemd service on every host"),
        ],
        ["agent uninstall"] = [new("overlayctl agent uninstall -f cluster.yaml --limit node3", "stop and remove node3's agent service")],
        ["completion"] =
        [
            new("source <(overlayctl completion bash)", "completion in this bash; for good: overlayctl completion bash > /etc/bash_completion.d/overlayctl"),
            new("overlayctl completion zsh > \"${fpath[1]}/_overlayctl\"", "zsh (then restart it)"),
            new("overlayctl completion fish > ~/.config/fish/completions/overlayctl.fish", "fish"),
        ],
        ["help"] =
        [
            new("overlayctl help", "the topics and commands"),
            new("overlayctl help backends", "one topic"),
        ],
    };
}
