using System.Diagnostics;
using System.Text.Json;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;
using KmPs.Module.Tests.Module;

namespace KmPs.Module.Tests.Pester;

/// <summary>One Pester test's outcome, as tests/Pester/Run-KmPester.ps1 writes it.</summary>
public sealed record PesterResult(string File, string[] Names, string Result, int DurationMs, string? Message, string? Stack)
{
    public string Id => PesterDiscovery.Id(File, Names);
}

/// <summary>
/// Runs the Pester suite once, in the pinned pwsh (dotnet-tools.json), against the module as build.ps1
/// publishes it (into a temp folder), and reads back every test's result.
/// </summary>
public sealed class PesterRun
{
    public IReadOnlyDictionary<string, PesterResult[]> ById { get; }
    public string RunnerOutput { get; }
    public int ExitCode { get; }
    public string[] FailedContainers { get; }
    public TimeSpan Elapsed { get; }

    public PesterRun()
    {
        var clock = Stopwatch.StartNew();
        var results = Path.Combine(Path.GetTempPath(), $"kmp-results-{Guid.NewGuid():N}.json");
        try
        {
            Pwsh.EnsureRestored();
            (ExitCode, RunnerOutput) = Pwsh.Dotnet(TimeSpan.FromMinutes(8), "pwsh", "-NoProfile", "-NonInteractive", "-File",
                Path.Combine(PesterDiscovery.SuiteDir, "Run-KmPester.ps1"), "-SimulatorDll", TestPaths.SimulatorDll, "-ResultPath", results);
            if (!File.Exists(results)) throw new InvalidOperationException($"Run-KmPester.ps1 wrote no results (exit {ExitCode}):\n{RunnerOutput}");
            using var doc = JsonDocument.Parse(File.ReadAllText(results));
            var options = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
            ById = doc.RootElement.GetProperty("Tests").EnumerateArray()
                .Select(e => e.Deserialize<PesterResult>(options)!)
                .GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.ToArray());
            FailedContainers = doc.RootElement.GetProperty("Containers").EnumerateArray()
                .Where(c => c.GetProperty("Result").GetString() != "Passed" && !string.IsNullOrWhiteSpace(c.GetProperty("Message").GetString()))
                .Select(c => $"{c.GetProperty("Item").GetString()}: {c.GetProperty("Message").GetString()}").ToArray();
        }
        finally { File.Delete(results); }
        Elapsed = clock.Elapsed;
    }
}

/// <summary>
/// The Pester suite (tests/Pester) in `dotnet test`: one case per Pester test, found by parsing the
/// .Tests.ps1 files (no process at discovery), each passing only if that Pester test passed. Runs in
/// the README test's collection: alone, after the parallel tests (it publishes in Release and starts
/// simulated clusters).
/// </summary>
[Collection(nameof(ReadmePwshTests))]
public sealed class PesterSuiteTests(PesterRun run) : IClassFixture<PesterRun>
{
    public static TheoryData<string> PesterTests() => new(PesterDiscovery.Discover());

    [Theory]
    [MemberData(nameof(PesterTests))]
    public void Pester(string test)
    {
        Assert.True(run.ById.TryGetValue(test, out var results),
            $"Pester did not run '{test}'.\n{string.Join("\n", run.FailedContainers)}\n{Tail(run.RunnerOutput)}");
        var failed = results!.Where(r => r.Result != "Passed").ToList();
        Assert.True(failed.Count == 0, string.Join("\n\n", failed.Select(r => $"{r.Result}: {r.Message}\n{r.Stack}")));
    }

    [Fact]
    public void Pester_runs_exactly_the_tests_found_in_the_files()
    {
        var discovered = PesterDiscovery.Discover();
        Assert.Equal(discovered.Count, discovered.Distinct().Count());
        var ran = run.ById.Keys.ToHashSet();
        Assert.Empty(discovered.Except(ran));
        Assert.Empty(ran.Except(discovered));
        Assert.True(run.ById.Values.All(r => r.Length == 1), "one Pester test per id: " + string.Join(", ", run.ById.Where(kv => kv.Value.Length > 1).Select(kv => kv.Key)));
        Assert.Empty(run.FailedContainers);
    }

    private static string Tail(string s) => s.Length <= 4000 ? s : s[^4000..];
}
