using System.Text.RegularExpressions;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Module;

/// <summary>
/// README's "Install and use with pwsh", run exactly as written in the pwsh the repository pins
/// (dotnet-tools.json, restored here as on a fresh machine): build.ps1 publishes the module, the
/// published manifest imports, and every exported command is there.
/// </summary>
[Collection(nameof(ReadmePwshTests))]
public class ReadmePwshTests
{
    private static string ReadmeBlock()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        var section = readme[readme.IndexOf("## Install and use with pwsh", StringComparison.Ordinal)..];
        return Regex.Match(section, "```powershell\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
    }

    [Fact]
    public void The_install_block_of_the_README_works_as_written_in_the_pinned_pwsh()
    {
        var block = ReadmeBlock();
        Assert.Contains("./build.ps1", block);
        Pwsh.EnsureRestored();
        var (code, output) = Pwsh.Dotnet("pwsh", "-NoProfile", "-NonInteractive", "-Command",
            "$ErrorActionPreference = 'Stop'\n" + block + "\n'---'\n$PSVersionTable.PSVersion.ToString()\n" +
            "(Get-Command -Module OasisKeyManager).Name -join ','\n(Get-Module OasisKeyManager).ModuleBase");
        Assert.True(code == 0, output);
        var tail = output[(output.LastIndexOf("---", StringComparison.Ordinal) + 3)..].Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("7.6.9", tail[0]);
        var manifest = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "OasisKeyManager.psd1"));
        var exported = Regex.Matches(manifest, @"'((?:Get|Set|Save|New|Import|Clear|Restore|Stop|Start|Wait|Test|Find|Invoke|ConvertFrom)-Km\w+)'").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.True(exported.Count >= 15, string.Join(",", exported));
        Assert.Equal(exported.OrderBy(x => x), tail[1].Split(',').OrderBy(x => x));
        Assert.Equal(Path.Combine(TestPaths.RepoRoot, "out", "OasisKeyManager"), tail[2]);
    }
}

/// <summary>
/// build.ps1 runs a Release publish, a minute of both cores: alone, after the parallel tests, so the
/// timing assertions of the others (concurrent remote reads) do not measure this build.
/// </summary>
[CollectionDefinition(nameof(ReadmePwshTests), DisableParallelization = true)]
public class ReadmePwshCollection;
