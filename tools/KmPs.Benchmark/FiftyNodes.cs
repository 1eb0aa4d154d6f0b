using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Management.Automation;
using KmPs.Core.Status;
using KmPs.Tests.Harness;

namespace KmPs.Benchmark;

/// <summary>Figure 3: one Get-KmStatus call over 50 nodes, whose calls run concurrently.</summary>
public static class FiftyNodes
{
    public const int Count = 50;
    public const double TargetMs = 150;

    public static async Task RunAsync(Engine engine, Counts c)
    {
        Report.Section($"3. Get-KmStatus -Socket $fifty: {Count} in-process nodes (a process per node is too heavy here), " +
                       $"{c.FiftyRuns} runs after warm-up");
        var nodes = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => SnapshotNode.StartAsync(Nodes.Ready(i))));
        try
        {
            var inputs = nodes.Select(n => n.Address).ToArray();
            using var ps = engine.Script("Get-KmStatus -Socket $fifty", ("fifty", inputs));
            var failures = new List<string>();
            var calls = 0;
            void Call()
            {
                calls++;
                var output = Engine.Invoke(ps);
                if (!InInputOrder(output, inputs)) failures.Add(string.Join(",", output.Select(o => (o.BaseObject as KmStatus)?.Epoch)));
            }

            var started = Stopwatch.GetTimestamp();
            Call();
            Report.Figure("cold first call (new channels and connections to 50 sockets)", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var ms = Stats.Time(c.FiftyWarmup, c.FiftyRuns, Call);
            Report.Figure("warm call: median", Stats.Median(ms), TargetMs);
            Report.Figure("warm call: max", ms.Max());
            Report.Text("output order equals input order",
                failures.Count == 0 ? $"OK (all {calls} calls)" : $"FAIL ({failures.Count} of {calls} calls; first: epochs {failures[0]})");
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
    }

    private static bool InInputOrder(Collection<PSObject> output, string[] inputs) =>
        output.Count == inputs.Length &&
        output.Select((o, i) => o.BaseObject is KmStatus s && s.Name == inputs[i] && s.Epoch == Nodes.Epoch(i)).All(ok => ok);
}
