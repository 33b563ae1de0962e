using OverlayCtl.Core.Hosts;
using OverlayCtl.Core.Net;
using OverlayCtl.Core.Planning;
using OverlayCtl.Hosts.Execute;
using OverlayCtl.Hosts.Tests.Support;

namespace OverlayCtl.Hosts.Tests.Execute;

public sealed class PlanExecutorTests
{
    private static Operation Link(params string[] args) => Ops.Ip(ChangeKind.Add, ResourceAddress.Link(args[2]), args);

    private static Operation Route(string destination, params string[] rest) =>
        Ops.Ip(ChangeKind.Add, ResourceAddress.Route(Ipv4Cidr.Parse(destination)), ["route", "replace", destination, .. rest]);

    [Fact]
    public async Task ConsecutiveIpAndBridgeStepsRunAsOneBatchProcessEach()
    {
        var host = new RecordingHostRunner();
        var plan = new HostPlan("h", [
            Link("link", "add", "docker0", "type", "bridge"),
            Ops.Ip(ChangeKind.Add, ResourceAddress.Neighbour(Ipv4Address.Parse("10.244.2.0")), "neigh", "replace", "10.244.2.0", "dev", "flannel.1", "lladdr", "02:00:00:00:00:02", "nud", "permanent"),
            Ops.Bridge(ChangeKind.Add, ResourceAddress.Fdb(MacAddress.Parse("02:00:00:00:00:02")), "fdb", "replace", "02:00:00:00:00:02", "dev", "flannel.1", "self", "dst", "192.0.2.12", "permanent"),
            Ops.Bridge(ChangeKind.Add, ResourceAddress.Fdb(MacAddress.Parse("02:00:00:00:00:03")), "fdb", "replace", "02:00:00:00:00:03", "dev", "flannel.1", "self", "dst", "192.0.2.13", "permanent"),
            Route("10.244.2.0/24", "via", "10.244.2.0", "dev", "flannel.1", "onlink", "proto", "211"),
        ]);
        var result = await PlanExecutor.ExecuteAsync(host, plan, default);
        Assert.Equal(3, result.ProcessesSpawned);
        Assert.Equal(["ip -batch -", "bridge -batch -", "ip route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink proto 211"], host.Ran.Select(c => c.ToString()));
        Assert.Equal("link add docker0 type bridge\nneigh replace 10.244.2.0 dev flannel.1 lladdr 02:00:00:00:00:02 nud permanent\n", host.Ran[0].StandardInput);
    }

    [Fact]
    public async Task EveryIptablesStepBecomesOneRestorePayloadGroupedByTable()
    {
        var host = new RecordingHostRunner();
        var plan = new HostPlan("h", [
            new Operation(ChangeKind.Add, ResourceAddress.IptablesChain("filter", "OVERLAYCTL-FWD"), new IptablesStep("filter", [":OVERLAYCTL-FWD - [0:0]", "-A OVERLAYCTL-FWD -s 10.244.0.0/16 -j ACCEPT"])),
            new Operation(ChangeKind.Add, ResourceAddress.IptablesChain("nat", "OVERLAYCTL-POSTRTG"), new IptablesStep("nat", ["-I POSTROUTING 1 -m comment --comment overlayctl -j OVERLAYCTL-POSTRTG", ":OVERLAYCTL-POSTRTG - [0:0]"])),
            new Operation(ChangeKind.Add, ResourceAddress.IptablesJump("filter", "FORWARD"), new IptablesStep("filter", ["-I FORWARD 1 -m comment --comment overlayctl -j OVERLAYCTL-FWD"])),
            new Operation(ChangeKind.Add, ResourceAddress.File("/run/x/subnet.env"), new FileStep("/run/x/subnet.env", "A=1\n")),
        ]);
        var result = await PlanExecutor.ExecuteAsync(host, plan, default);
        Assert.Equal(1, result.ProcessesSpawned);
        Assert.Equal("iptables-restore --noflush --wait=5", host.Ran.Single().ToString());
        Assert.Equal("""
            *filter
            :OVERLAYCTL-FWD - [0:0]
            -A OVERLAYCTL-FWD -s 10.244.0.0/16 -j ACCEPT
            -I FORWARD 1 -m comment --comment overlayctl -j OVERLAYCTL-FWD
            COMMIT
            *nat
            :OVERLAYCTL-POSTRTG - [0:0]
            -I POSTROUTING 1 -m comment --comment overlayctl -j OVERLAYCTL-POSTRTG
            COMMIT

            """.Replace("\r", "", StringComparison.Ordinal), host.Ran[0].StandardInput);
        Assert.Equal("A=1\n", host.Files["/run/x/subnet.env"]);
    }

    [Fact]
    public async Task ConsecutiveOvsCommandsForOneDatabaseRunAsOneTransaction()
    {
        var host = new RecordingHostRunner();
        const string db = "unix:/run/ovs/h/db.sock";
        var plan = new HostPlan("h", [
            Ops.Vsctl(ChangeKind.Add, ResourceAddress.OvsBridge("br-overlay"), db, "--may-exist", "add-br", "br-overlay", "--", "set", "bridge", "br-overlay", "datapath_type=netdev"),
            Ops.Vsctl(ChangeKind.Add, ResourceAddress.OvsPort("vx-c000020c"), db, "--may-exist", "add-port", "br-overlay", "vx-c000020c", "--", "set", "port", "vx-c000020c", "protected=true"),
            Ops.Vsctl(ChangeKind.Remove, ResourceAddress.OvsPort("vx-c000020d"), db, "--if-exists", "del-port", "br-overlay", "vx-c000020d"),
            Ops.Vsctl(ChangeKind.Add, ResourceAddress.OvsBridge("other"), null, "--may-exist", "add-br", "other"),
            Route("10.244.2.0/24", "via", "10.244.2.1", "dev", "docker0", "onlink", "proto", "211"),
        ]);
        var result = await PlanExecutor.ExecuteAsync(host, plan, default);
        Assert.Equal(3, result.ProcessesSpawned);
        Assert.Equal(
            "ovs-vsctl --db=unix:/run/ovs/h/db.sock --timeout=10 -- --may-exist add-br br-overlay -- set bridge br-overlay datapath_type=netdev"
            + " -- --may-exist add-port br-overlay vx-c000020c -- set port vx-c000020c protected=true -- --if-exists del-port br-overlay vx-c000020d",
            host.Ran[0].ToString());
        // Another database (here: the default one) is another transaction.
        Assert.Equal("ovs-vsctl --timeout=10 -- --may-exist add-br other", host.Ran[1].ToString());
    }

    [Fact]
    public async Task AFailingBatchLineNamesTheOperationItBelongsTo()
    {
        var host = new RecordingHostRunner { Answer = _ => new CommandResult(2, "", "RTNETLINK answers: File exists\nCommand failed -:2") };
        var plan = new HostPlan("h", [Link("link", "add", "a", "type", "bridge"), Link("link", "add", "b", "type", "bridge")]);
        var e = await Assert.ThrowsAsync<CommandFailedException>(() => PlanExecutor.ExecuteAsync(host, plan, default));
        Assert.Contains("(operation: link b: ip link add b type bridge)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailingCommandOfOneOperationNamesIt()
    {
        var host = new RecordingHostRunner { Answer = _ => new CommandResult(1, "", "ovs-vsctl: unix:/run/ovs/h/db.sock: database connection failed") };
        var plan = new HostPlan("h", [Ops.Vsctl(ChangeKind.Add, ResourceAddress.OvsBridge("br-overlay"), "unix:/run/ovs/h/db.sock", "--may-exist", "add-br", "br-overlay")]);
        var e = await Assert.ThrowsAsync<CommandFailedException>(() => PlanExecutor.ExecuteAsync(host, plan, default));
        Assert.EndsWith("database connection failed (operation: ovs bridge br-overlay)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReplacementsStepsJoinTheBatchAndAFailingOneNamesTheReplacement()
    {
        var host = new RecordingHostRunner { Answer = _ => new CommandResult(2, "", "RTNETLINK answers: File exists\nCommand failed -:3") };
        var replace = Ops.Replace(ResourceAddress.Link("flannel.1"), new IpStep(["link", "del", "flannel.1"]), new IpStep(["link", "add", "flannel.1", "type", "vxlan", "id", "1"]));
        var plan = new HostPlan("h", [Link("link", "add", "docker0", "type", "bridge"), replace, Link("link", "set", "flannel.1", "up")]);
        var e = await Assert.ThrowsAsync<CommandFailedException>(() => PlanExecutor.ExecuteAsync(host, plan, default));
        Assert.Equal("link add docker0 type bridge\nlink del flannel.1\nlink add flannel.1 type vxlan id 1\nlink set flannel.1 up\n", Assert.Single(host.Ran).StandardInput);
        Assert.Contains("(operation: link flannel.1: ip link add flannel.1 type vxlan id 1)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("two words")]
    [InlineData("semi#colon")]
    [InlineData("")]
    public void ArgumentsThatABatchLineWouldSplitAreRefused(string arg) =>
        Assert.Throws<ArgumentException>(() => PlanExecutor.BatchInput([CommandSpec.Of("ip", "link", "add", arg)]));
}
