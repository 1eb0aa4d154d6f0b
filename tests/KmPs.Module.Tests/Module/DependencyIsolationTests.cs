using KmPs.Tests.Support;
using KmPs.Tests.Harness;





namespace KmPs.Module.Tests.Module;

/// <summary>
/// The module's packages load in its own AssemblyLoadContext (src/KmPs/Loading): in real pwsh, a
/// module that ships another YamlDotNet (11.2.1, an older major than ours) works beside this one in
/// either import order, each parses YAML with its own copy, and our own types are still nameable.
/// </summary>
[Collection(nameof(ReadmePwshTests))]
public class DependencyIsolationTests
{
    private const string Script = """
        param($Ours, $Other, $Order, $Config, $DataDir)
        $ErrorActionPreference = 'Stop'
        if ($Order -eq 'other-first') { Import-Module $Other; Import-Module $Ours } else { Import-Module $Ours; Import-Module $Other }
        'other: ' + (ConvertFrom-OtherYaml "answer: 42")['answer']
        'ours: ' + (New-KmNode -Name km1 -DataDir $DataDir -ConfigPath $Config).RuntimeId
        # Our own types stay nameable in scripts (only the packages are in the module's context).
        try { Get-KmStatus (Join-Path $DataDir 'nowhere') } catch [KmPs.Core.KmException] { 'caught: ' + $_.Exception.ErrorId }
        [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'YamlDotNet' } |
            Sort-Object { $_.GetName().Version } |
            ForEach-Object { 'yaml: {0} in {1}' -f $_.GetName().Version.Major, [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_).Name }
        """;

    /// <summary>A module of another vendor: YamlDotNet 11 loaded into the default context, as a script module would with Add-Type.</summary>
    private static string OtherModule(string root)
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "OtherYaml")).FullName;
        var nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } n ? n
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.Copy(Path.Combine(nuget, "yamldotnet", "11.2.1", "lib", "netstandard2.1", "YamlDotNet.dll"), Path.Combine(dir, "YamlDotNet.dll"));
        File.WriteAllText(Path.Combine(dir, "OtherYaml.psm1"), """
            Add-Type -Path (Join-Path $PSScriptRoot 'YamlDotNet.dll')
            function ConvertFrom-OtherYaml([string] $Text) {
                [YamlDotNet.Serialization.DeserializerBuilder]::new().Build().Deserialize[System.Collections.Generic.Dictionary[string, object]]($Text)
            }
            """);
        return Path.Combine(dir, "OtherYaml.psm1");
    }

    [Theory]
    [InlineData("other-first")]
    [InlineData("ours-first")]
    public void Another_modules_YamlDotNet_and_ours_work_side_by_side(string order)
    {
        var root = Directory.CreateTempSubdirectory("kmps-alc-").FullName;
        try
        {
            var orc = Path.Combine(root, "km.orc");
            TestOrcs.WriteKm(orc, "0.5.0");
            var config = Path.Combine(root, "config.yml");
            File.WriteAllText(config, TestConfigs.V22Docs(orc).Replace("datadir: /node/data", $"datadir: {root}/data"));
            Directory.CreateDirectory(Path.Combine(root, "data"));

            var (code, output) = Pwsh.Run(Script, TestPaths.ModuleManifest, OtherModule(root), order, config, Path.Combine(root, "data"));

            Assert.True(code == 0, output);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Contains("other: 42", lines);
            Assert.Contains("ours: " + TestOrcs.MainnetKm, lines);
            Assert.Contains("caught: SocketNotFound", lines);
            Assert.Equal(new[] { "yaml: 11 in Default", "yaml: 18 in OasisKeyManager" }, lines.Where(l => l.StartsWith("yaml: ")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
