using OverlayCtl.Core;
using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Tests.Spec;

public sealed class HostPatternsTests
{
    private static readonly string[] Hosts = ["node1", "node2", "node3", "node10", "web-a", "web-b", "db"];

    [Theory]
    [InlineData("node1", "node1", true)]
    [InlineData("node1", "node10", false)]
    [InlineData("node*", "node10", true)]
    [InlineData("node?", "node10", false)]
    [InlineData("node[1-3]", "node2", true)]
    [InlineData("node[1-3]", "node10", false)]
    [InlineData("node[!2]", "node2", false)]
    [InlineData("node[!2]", "node3", true)]
    [InlineData("node[13]", "node3", true)]
    [InlineData("*-?", "web-b", true)]
    [InlineData("*", "db", true)]
    [InlineData("node[", "node[", true)]
    public void GlobsMatchWholeNames(string pattern, string name, bool expected) => Assert.Equal(expected, HostPatterns.Matches(pattern, name));

    [Theory]
    [InlineData("node[1-3]", "node1,node2,node3")]
    [InlineData("web-*,db", "web-a,web-b,db")]
    [InlineData("db,web-*", "web-a,web-b,db")]
    [InlineData("!node2", "node1,node3,node10,web-a,web-b,db")]
    [InlineData("node*,!node1*", "node2,node3")]
    [InlineData("node*,&*1*", "node1,node10")]
    [InlineData("node2", "node2")]
    public void ASelectionIsThePlainPatternsThenEachAndThenEachNotInSpecOrder(string limit, string expected) =>
        Assert.Equal(expected.Split(','), HostPatterns.Select(Hosts, HostPatterns.Split(limit), "c.yaml"));

    [Fact]
    public void APatternMatchingNoHostIsAnErrorNamingItEvenAsAnExclusion()
    {
        var e = Assert.Throws<InputException>(() => HostPatterns.Select(Hosts, HostPatterns.Split("node[1-3],!nod2,cache-*"), "c.yaml"));
        Assert.StartsWith("--limit: '!nod2', 'cache-*' match no host in c.yaml (known: node1, node2, node3, node10, web-a, web-b, db) (fix: name spec hosts", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASelectionOfNothingIsAnError()
    {
        var e = Assert.Throws<InputException>(() => HostPatterns.Select(Hosts, ["db", "!d*"], "c.yaml"));
        Assert.Contains("leaves no host of c.yaml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileIsOnePatternPerLineWithCommentsAndBlankLinesLeftOut() =>
        Assert.Equal(["node1", "web-*", "!db", "node3"], HostPatterns.Split("# failed by apply\nnode1\n\n  web-*  \r\n!db,node3\n"));
}
