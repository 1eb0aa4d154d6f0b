using System.Text.RegularExpressions;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Explorer;

/// <summary>
/// The schedule explorer (tools/KmPs.Explorer), in its own process (it replaces this machine's node host
/// and the poll clock for the whole process): the real Invoke-KmSafeUpgrade over every schedule of 2
/// nodes in the three status generations, and of 3 nodes in one, stopped at every step boundary and
/// resumed (and stopped again in the resume), every answer at every prompt, one fault of each kind at
/// each step. Every invariant holds, every fault kind acted and every stop point was used. The full set
/// (2-5 nodes, three generations) takes longer than a test may on 2 busy cores; its figure is in README.
/// </summary>
public class ScheduleExplorerTests
{
    private static string ExplorerDll => Path.Combine(TestPaths.RepoRoot, "artifacts", "bin", "KmPs.Explorer", TestPaths.Configuration, "KmPs.Explorer.dll");

    [Theory]
    [InlineData("2", "all", 1400)]
    [InlineData("3", "23.0", 850)]
    public void Every_schedule_keeps_every_invariant(string nodes, string generations, int atLeast)
    {
        Assert.True(File.Exists(ExplorerDll), $"build the solution first: {ExplorerDll} is missing");
        var (code, output) = Pwsh.Dotnet(TimeSpan.FromMinutes(8), ExplorerDll, "--nodes", nodes, "--generations", generations, "--parallel", "2");
        var result = Regex.Match(output, @"^RESULT schedules=(\d+) runs=(\d+) states=(\d+) violations=(\d+) seconds=\S+ per-minute=\d+ fault-kinds=(\d+) stops-missing=(\d+)", RegexOptions.Multiline);
        Assert.True(result.Success, "no RESULT line:\n" + output);
        Assert.True(code == 0 && result.Groups[4].Value == "0", "violations found:\n" + output);
        Assert.True(int.Parse(result.Groups[1].Value) >= atLeast, "fewer schedules than these clusters have:\n" + output);
        Assert.Equal("9", result.Groups[5].Value);   // every fault kind acted at some step
        Assert.Equal("0", result.Groups[6].Value);   // every stop point (after each mutating call, at each step) was a first stop
        foreach (var kind in new[] { "Base", "Stop", "HandStart", "Prompt", "Fault" })
            Assert.Matches(new Regex($@"^  {kind}\s+\d+$", RegexOptions.Multiline), output);
    }

    [Fact]
    public void A_schedule_replays_from_its_line()
    {
        Assert.True(File.Exists(ExplorerDll), $"build the solution first: {ExplorerDll} is missing");
        var (code, output) = Pwsh.Dotnet(TimeSpan.FromMinutes(3), ExplorerDll, "--replay", "n3/g23.0/stop:A5,B9");
        Assert.True(code == 0, output);
        Assert.Contains("run 1 stop at A5: stopped by the explorer", output);
        Assert.Contains("run 2 stop at B9: stopped by the explorer", output);
        Assert.Matches(new Regex(@"^run 3: completed", RegexOptions.Multiline), output);
        Assert.Contains("violations: 0", output);
    }
}
