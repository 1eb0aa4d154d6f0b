using System.Diagnostics;
using System.Text.Json;
using KmPs.Core.Control;
using KmPs.Simulator.Control;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Core;

namespace KmPs.Benchmark;

/// <summary>Figure 1: per-call latency of Get-KmStatus against one node, in one warm engine.</summary>
public static class SingleNode
{
    /// <summary>The same calls timed inside the engine, so PowerShell.Invoke's own overhead shows as the difference.</summary>
    private const string LoopScript = """
        for ($i = 0; $i -lt $w; $i++) { $null = Get-KmStatus -Socket $s }
        $sw = [System.Diagnostics.Stopwatch]::new()
        $ms = [double[]]::new($n)
        for ($i = 0; $i -lt $n; $i++) {
            $sw.Restart()
            $null = Get-KmStatus -Socket $s
            $ms[$i] = $sw.Elapsed.TotalMilliseconds
        }
        , $ms
        """;

    public static void Run(Engine engine, string address, string where, Counts c, double? nodeStartMs = null)
    {
        Report.Section($"1. Get-KmStatus against one node ({where})");
        if (nodeStartMs is { } started) Report.Figure("node start: Process.Start until its socket file exists", started);
        using var ps = engine.Script("Get-KmStatus -Socket $s", ("s", address));
        void Invoke()
        {
            if (Engine.Invoke(ps) is not [{ BaseObject: KmStatus { IsReady: true } }])
                throw new InvalidOperationException("Get-KmStatus did not return one ready status");
        }
        Summary("C# around PowerShell.Invoke, JIT still tiering", Stats.Time(c.Warmup, c.Calls, Invoke), 1.0);

        Stats.Settle(c.SettleTime, Invoke);
        var client = ControlClient.For(SocketAddress.Parse(address));
        Summary("steady: client only, ControlClient.GetStatusAsync (no engine)",
            Stats.Time(c.Warmup, c.Calls, () => client.GetStatusAsync().GetAwaiter().GetResult()), null);
        Summary("steady: C# around reused PowerShell.Invoke('Get-KmStatus -Socket $s')", Stats.Time(c.Warmup, c.Calls, Invoke), 1.0);
        using var loop = engine.Script(LoopScript, ("s", address), ("n", c.Calls), ("w", c.Warmup));
        Summary("steady: one script loop, [Stopwatch] around each call", (double[])Engine.Invoke(loop).Single().BaseObject, 1.0);
    }

    private static void Summary(string label, double[] ms, double? targetMs)
    {
        Report.Figure($"{label}: median", Stats.Median(ms), targetMs);
        Report.Figure($"{label}: p99", Stats.Percentile(ms, 99));
    }
}

/// <summary>A simulator process serving a status snapshot, as tests and the sandbox run it.</summary>
public sealed class SimulatorProcess : IAsyncDisposable
{
    private readonly TempDir _dir;
    private readonly Process _process;

    private SimulatorProcess(TempDir dir, Process process)
    {
        _dir = dir;
        _process = process;
    }

    public string SocketPath => _dir.File(SocketAddress.SocketFileName);
    /// <summary>From Process.Start until the socket file existed.</summary>
    public double StartMs { get; private set; }
    public string Address => "unix:" + SocketPath;

    public static async Task<SimulatorProcess> StartAsync(SimNodeStatus status)
    {
        var dir = new TempDir("kmb");
        var state = dir.File("state.json");
        await File.WriteAllTextAsync(state, JsonSerializer.Serialize(status, SnapshotBackend.Json));
        var started = Stopwatch.GetTimestamp();
        var sim = new SimulatorProcess(dir, Nodes.StartDotnet(TestPaths.SimulatorDll,
            "serve-status", "--socket", dir.File(SocketAddress.SocketFileName), "--state", state));
        _ = sim._process.StandardOutput.ReadToEndAsync();
        var stderr = sim._process.StandardError.ReadToEndAsync();
        while (!File.Exists(sim.SocketPath))
        {
            if (sim._process.HasExited || Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(30))
            {
                await sim.DisposeAsync();
                throw new InvalidOperationException($"the simulator did not create {sim.SocketPath}: {await stderr}");
            }
            await Task.Delay(5);
        }
        sim.StartMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return sim;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
                await ControlClient.For(SocketAddress.Parse(Address)).RequestShutdownAsync(false, TimeSpan.FromSeconds(2));
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception e) when (e is KmException or OperationCanceledException)
        {
            _process.Kill();
        }
        _process.Dispose();
        _dir.Dispose();
    }
}
