namespace OverlayCtl.Cli.Tests.Support;

/// <summary>
/// Reads YAML back with PyYAML, the YAML 1.1 reader Ansible uses (python3-yaml, scripts/deps.sh), and
/// compares what it reads with the JSON document: a string PyYAML would turn into a number, a boolean,
/// a date or null shows up as a difference.
/// </summary>
internal static class PyYaml
{
    private const string Compare = """
        import json, sys, yaml
        with open(sys.argv[1]) as j, open(sys.argv[2]) as y:
            want, got = json.load(j), yaml.safe_load(y)
        if want != got:
            print("json: " + repr(want))
            print("yaml: " + repr(got))
            sys.exit(1)
        """;

    public static void AssertReadsAsJson(string json, string yaml)
    {
        var dir = Directory.CreateTempSubdirectory("overlayctl-yaml-");
        try
        {
            var jsonFile = Path.Combine(dir.FullName, "doc.json");
            var yamlFile = Path.Combine(dir.FullName, "doc.yaml");
            File.WriteAllText(jsonFile, json);
            File.WriteAllText(yamlFile, yaml);
            var (code, stdout, stderr) = Sh.Run("python3", "-c", Compare, jsonFile, yamlFile);
            Assert.True(code == 0, $"PyYAML reads the YAML as another document than the JSON:\n{stdout}{stderr}\n--- yaml\n{yaml}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
