using System.Text.RegularExpressions;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Explorer;

/// <summary>
/// The schedule explorer (tools/KmPs.Explorer), in its own processes (it replaces this machine's node
/// host and the poll clock for the whole process): the real Invoke-KmSafeUpgrade over EVERY schedule
/// of 2 to 5 nodes in the three status generations, stopped at every step boundary and resumed (and
/// stopped again in the resume), every answer at every prompt, one fault of each kind at each step.
/// Every invariant holds, every fault kind acted and every stop point was used. A run that starts from
/// a world and with a command an executed run had is not executed again (and a latent fault's
/// schedule still unread where a later one sets it is taken whole): the figure says both what was
/// covered and what was executed. About 2.5 minutes on 2 quiet cores.
/// </summary>
public class ScheduleExplorerTests
{
    /// <summary>The Release build (the test project builds it so, whatever its own configuration), else the Debug one the solution builds.</summary>
    private static string ExplorerDll
    {
        get
        {
            var release = Path.Combine(TestPaths.RepoRoot, "artifacts", "bin", "KmPs.Explorer", "release", "KmPs.Explorer.dll");
            var module = Path.Combine(Path.GetDirectoryName(release)!, "module", "OasisKeyManager", "OasisKeyManager.psd1");
            return File.Exists(release) && File.Exists(module) ? release : Path.Combine(TestPaths.RepoRoot, "artifacts", "bin", "KmPs.Explorer", "debug", "KmPs.Explorer.dll");
        }
    }

    /// <summary>The full set's size: 14,310 schedules of 2-5 nodes in three generations (282 more have nothing to act on).</summary>
    private const int FullSet = 14_310;

    [Fact]
    public void Every_schedule_of_2_to_5_nodes_in_three_generations_keeps_every_invariant()
    {
        Assert.True(File.Exists(ExplorerDll), $"build the solution first: {ExplorerDll} is missing");
        var (code, output) = Pwsh.Dotnet(TimeSpan.FromMinutes(15), ExplorerDll, "--nodes", "2-5", "--generations", "all", "--parallel", "2");
        var result = Regex.Match(output,
            @"^RESULT schedules=(\d+) runs=(\d+) executed=(\d+) states=(\d+) covered-states=(\d+) violations=(\d+) seconds=\S+ per-minute=\d+ fault-kinds=(\d+) stops-missing=(\d+)",
            RegexOptions.Multiline);
        Assert.True(result.Success, "no RESULT line:\n" + output);
        Assert.True(code == 0 && result.Groups[6].Value == "0", "violations found:\n" + output);
        Assert.Equal(FullSet, int.Parse(result.Groups[1].Value));   // every schedule, none dropped
        var runs = int.Parse(result.Groups[2].Value);
        var executed = int.Parse(result.Groups[3].Value);
        Assert.True(executed > 0 && executed <= runs, "executed runs are some of the runs covered:\n" + output);
        Assert.True(long.Parse(result.Groups[4].Value) > 0, output);
        Assert.Equal("9", result.Groups[7].Value);   // every fault kind acted at some step
        Assert.Equal("0", result.Groups[8].Value);   // every stop point (after each mutating call, at each step) was a first stop
        foreach (var kind in new[] { "Base", "Stop", "HandStart", "Prompt", "Fault" })
            Assert.Matches(new Regex($@"^  {kind}\s+\d+$", RegexOptions.Multiline), output);
    }

    /// <summary>
    /// The runs taken from their twins change no schedule's outcome: with and without --no-memo, every
    /// schedule ends the same way after the same number of runs and states (checked, or covered by the
    /// twin that checked them), and fewer runs are executed with the twins than without.
    /// </summary>
    [Fact]
    public void Runs_taken_from_their_twins_give_every_schedule_the_outcome_of_running_them()
    {
        Assert.True(File.Exists(ExplorerDll), $"build the solution first: {ExplorerDll} is missing");
        var args = new[] { ExplorerDll, "--nodes", "2", "--generations", "24", "--limit", "30", "--parallel", "1", "--verbose" };
        var (memoCode, memo) = Pwsh.Dotnet(TimeSpan.FromMinutes(5), args);
        var (allCode, all) = Pwsh.Dotnet(TimeSpan.FromMinutes(5), [.. args, "--no-memo"]);
        Assert.True(memoCode == 0, memo);
        Assert.True(allCode == 0, all);
        var withTwins = Outcomes(memo);
        var executedAll = Outcomes(all);
        Assert.True(withTwins.Count > 60, "too few schedules:\n" + memo);
        Assert.Equal(executedAll, withTwins);
        Assert.True(Executed(memo) < Executed(all), $"no run was taken from a twin:\n{memo}");
    }

    private static readonly Regex ScheduleLine = new(
        @"^  (n\S+): (\S+?)(?: \(not applicable: .*?\))?, (\d+) run\(s\) \((\d+) executed\), (\d+) states checked, (\d+) covered", RegexOptions.Multiline);

    /// <summary>Each schedule's end, runs and states (checked or covered).</summary>
    private static Dictionary<string, string> Outcomes(string output) => ScheduleLine.Matches(output)
        .ToDictionary(m => m.Groups[1].Value, m => $"{m.Groups[2].Value} after {m.Groups[3].Value} run(s), {long.Parse(m.Groups[5].Value) + long.Parse(m.Groups[6].Value)} states");

    private static int Executed(string output) => int.Parse(Regex.Match(output, @"^RESULT .* executed=(\d+) ", RegexOptions.Multiline).Groups[1].Value);

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
