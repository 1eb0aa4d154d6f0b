using System.Diagnostics;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Scenario.Tests.Console;

/// <summary>
/// README's first command as a person sees it: the sandbox in a real 100×32 terminal (tmux). During
/// an epoch wait the screen shows the orchestrator's step bar with the wait's bar nested under it,
/// drawn in place (one line each, not a new line per poll), with the estimated time left from the
/// chain's epoch length; the plan says how long it waits; the final tables fit the terminal's width.
/// </summary>
public class SandboxScreenTests
{
    private const int Columns = 100;

    [Fact]
    public void The_sandbox_draws_its_progress_in_place_and_its_tables_fit_the_terminal()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"kmps-screen-{Guid.NewGuid():N}"[..24]);
        try
        {
            using var term = Tmux.Start($"dotnet '{TestPaths.SandboxDll}' --nodes 2 --epoch-ms 2000 --upgrade-in 12 --dir '{dir}'", Columns, 32);

            // An epoch wait of the upgrade: the step bar and, nested under it, the wait's bar. The upgrade
            // epoch is 12 epochs (24 s) after the nodes are up, so the first half's wait for it lasts
            // many seconds even when a busy machine makes the dry run and the first stops slow.
            var during = term.WaitFor(s => s.Any(l => l.Contains("Waiting for epoch")) && s.Any(l => l.Contains("Safe upgrade to 0.6.0")),
                TimeSpan.FromSeconds(180), "an epoch wait under the upgrade's step bar");
            Assert.Single(during, l => l.Contains("Waiting for epoch"));
            Assert.Single(during, l => l.Contains("Safe upgrade to 0.6.0 ["));
            var step = Array.FindIndex(during, l => l.Contains("Safe upgrade to 0.6.0 ["));
            Assert.True(during[step + 1].Contains("Waiting for epoch"), "the wait's bar sits right under the step bar:\n" + string.Join('\n', during));
            Assert.Matches(@"step \d+/\d+: ", during[step]);
            // The ETA from the network's epoch length, not the timeout.
            Assert.Matches(@"Waiting for epoch \d+ \[.*\d+ epochs? left, about [\d.]+ (ms|s)", during[step + 1]);
            Assert.DoesNotContain("timeout", during[step + 1]);

            var end = term.WaitFor(s => s.Any(l => l.StartsWith("[exit ", StringComparison.Ordinal)), TimeSpan.FromSeconds(180), "the sandbox's end");
            Assert.Contains("[exit 0]", end);
            var history = term.History();
            Assert.Contains(history, l => l.StartsWith("Rehearsal finished", StringComparison.Ordinal));
            Assert.Contains(history, l => l.StartsWith("Estimated duration: about ", StringComparison.Ordinal) && l.Contains(" per epoch, from the chain"));
            // Progress never went into the scrollback as lines of its own: it was drawn over and cleared.
            Assert.DoesNotContain(history, l => l.Contains("Waiting for epoch"));
            // Every row of the final tables fits: no row was wrapped by the terminal.
            var tables = history.SkipWhile(l => !l.StartsWith("== Final replication report", StringComparison.Ordinal)).ToList();
            Assert.Contains(tables, l => l.StartsWith("km1 ", StringComparison.Ordinal));
            Assert.All(tables, l => Assert.True(l.TrimEnd().Length <= Columns, $"wider than {Columns} columns: '{l}'"));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                using var stop = Process.Start("dotnet", $"\"{TestPaths.SimulatorDll}\" cluster stop --dir \"{dir}\"");
                stop.WaitForExit(30_000);
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
