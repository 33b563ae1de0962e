using OverlayCtl.Core.Spec;

namespace OverlayCtl.Core.Tests.Spec;

/// <summary><c>docker.restart</c>: an argument list, checked like every other key, with <c>{host}</c> filled in per host.</summary>
public sealed class DockerRestartSpecTests
{
    private static string Spec(string restart) => $"""
        apiVersion: overlayctl/v1
        kind: Cluster
        name: c
        network:
          cidr: 10.244.0.0/16
        docker:
          restart: {restart}
        hosts:
          - name: a
            address: 192.0.2.1
        """;

    [Fact]
    public void TheCommandIsAnArgumentListWithTheHostFilledIn()
    {
        var spec = SpecLoader.Parse(Spec("[touch, '/run/{host} restarted']"), "c.yaml");
        Assert.Equal(["touch", "/run/a restarted"], spec.Docker.RestartFor(spec.Hosts[0]));
        Assert.Null(SpecLoader.Parse(Spec("null"), "c.yaml").Docker.Restart);
    }

    [Theory]
    [InlineData("systemctl restart docker", "c.yaml:7:12: docker.restart is one string; overlayctl runs no shell (fix: write the program and its arguments as a list, e.g. [systemctl, restart, docker])")]
    [InlineData("[]", "c.yaml:7:12: docker.restart is empty (fix: name the program and its arguments, e.g. [systemctl, restart, docker], or remove the key)")]
    [InlineData("[systemctl, [restart]]", "c.yaml:7:24: expected an argument of docker.restart here (fix: write an argument of docker.restart as a single value)")]
    [InlineData("{ program: systemctl }", "c.yaml:7:12: docker.restart must be a list (fix: write docker.restart as a YAML list ('- item' lines or [a, b]))")]
    public void AnythingButAnArgumentListIsLocatedWithTheFix(string restart, string expected)
    {
        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse(Spec(restart), "c.yaml"));
        Assert.Equal(expected, Assert.Single(e.Errors).ToString());
    }
}
