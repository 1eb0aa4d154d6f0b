using System.Management.Automation;
using KmPs.Orchestration;
using KmPs.Tests.Infrastructure;

namespace KmPs.Tests.Scenarios;

/// <summary>
/// The orchestrator stopped (Ctrl+C, StopProcessing) right after each step boundary of a 2-node
/// upgrade, then run again with the same journal: it resumes and finishes, keys intact.
/// </summary>
public abstract class SafeUpgradeResumeTestsBase
{
    protected static async Task StopAfterAndResumeAsync(int completedSteps)
    {
        await using var c = await UpgradeHarness.ClusterAsync(2);
        var before = (await c.StatusAsync("km1")).Checksum!;
        var journal = UpgradeHarness.Journal(c);
        using (var ps = new PsEngine())
        using (var shell = PowerShell.Create())
        {
            shell.Runspace = ps.Runspace;
            shell.AddScript(UpgradeHarness.Command(c));
            var run = shell.BeginInvoke();
            await SimCluster.EventuallyAsync(() => Task.FromResult(Completed(journal)), n => n >= completedSteps || run.IsCompleted,
                TimeSpan.FromSeconds(40), $"{completedSteps} steps");
            shell.Stop();
            Assert.Contains(shell.InvocationStateInfo.State, new[] { PSInvocationState.Stopped, PSInvocationState.Completed });
        }
        Assert.True(c.Audit().KeyMaterialExists);
        var r = UpgradeHarness.Run(c).AssertClean();
        var result = r.Single<UpgradeResult>();
        Assert.True(result.Resumed);
        await UpgradeHarness.AssertUpgradedAsync(c, result, before);
    }

    private static int Completed(string journal)
    {
        try { return File.Exists(journal) ? File.ReadAllText(journal).Split("\"key\"").Length - 1 : 0; }
        catch (IOException) { return 0; }
    }
}

public class SafeUpgradeResumeEarlyTests : SafeUpgradeResumeTestsBase
{
    // Steps of a 2-node plan: 1-4 km2 stop/wipe/bundle/start, 5 wait epoch, 6 wait replicated, 7 verify.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    public Task Stopped_after_step_resumes(int step) => StopAfterAndResumeAsync(step);
}

public class SafeUpgradeResumeLateTests : SafeUpgradeResumeTestsBase
{
    // 8 verify again, 9-12 km1 stop/wipe/bundle/start, 13 wait replicated (14 final verify ends the run).
    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public Task Stopped_after_step_resumes(int step) => StopAfterAndResumeAsync(step);
}
