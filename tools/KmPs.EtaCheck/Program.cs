using System.Globalization;
using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Core.Timing;

// ETA check: how far the estimated time to epoch now+N is from the actual time, on a simulated node
// (one real process) per epoch length. For each trial: ask EpochEtaClock for now+N, then wait until
// the node reports that epoch. "Actual" is the simulator's exact epoch start (its shared clock);
// the time at which a 10 ms poller saw the epoch is printed beside it as a check.
//
//   dotnet run --project tools/KmPs.EtaCheck -c Release -- [--epoch-ms 500,2000] [--n 1,3,6] [--trials 3] [--warmup-epochs 0]
// --warmup-epochs lets the chain build history first (a real network has plenty).
var opts = Args.Parse(args);
var warmup = opts.Ints("warmup-epochs", [0], allowZero: true)[0];
var epochLengths = opts.Ints("epoch-ms", [500, 2000]);
var ns = opts.Ints("n", [1, 3, 6]);
var trials = opts.Ints("trials", [3])[0];
Console.WriteLine("epoch_ms  N  trial  history_epochs  source    estimated_s  actual_s  error_%  chain_err_%  observed_err_%  poll_seen_s");
var summary = new List<(int EpochMs, double AbsErr, double ChainErr, double ObservedErr)>();
foreach (var epochMs in epochLengths)
{
    var root = Path.Combine("/tmp", "keta" + Guid.NewGuid().ToString("N")[..8]);
    ClusterBuilder.Create(root, new ClusterOptions { Nodes = 1, EpochIntervalMs = epochMs, UpgradeInEpochs = 1000 });
    var layout = new ClusterLayout(root);
    try
    {
        await ClusterControl.StartAllAsync(layout, TimeSpan.FromSeconds(60), CancellationToken.None);
        var spec = ClusterSpec.Load(layout);
        var truth = EpochClock.Of(spec);
        var address = SocketAddress.Parse("unix:" + layout.SocketPath(spec.Nodes[0].Name));
        var client = ChainTimeClient.For(address);
        await Task.Delay(warmup * epochMs);
        var clock = new EpochEtaClock(address);
        // The poller a wait would run anyway: its readings feed the observed estimate.
        using var stop = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { clock.Observe(await client.GetEpochAsync(0, null, stop.Token)); }
                catch (OperationCanceledException) { break; }
                catch (KmPs.Core.KmException) { /* a missed reading; the next one counts */ }
                try { await Task.Delay(10, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        foreach (var n in ns)
            for (var trial = 1; trial <= trials; trial++)
            {
                // Start at a random point inside an epoch, as a real wait would.
                await Task.Delay(Random.Shared.Next(epochMs));
                var current = await client.GetEpochAsync();
                var target = current + (ulong)n;
                var eta = await clock.EstimateAsync(target);
                var chainOnly = clock.LastChain is { } c ? EpochEstimator.EtaFromChain(c, target) : null;
                var observedOnly = EpochEstimator.EtaFromTransitions(clock.Transitions.Transitions, eta.CurrentEpoch, target, eta.AsOf);
                while (await client.GetEpochAsync() < target) await Task.Delay(10);
                var seen = DateTimeOffset.UtcNow;
                var start = DateTimeOffset.FromUnixTimeMilliseconds(spec.GenesisUnixMs + (long)(target - spec.FirstEpoch) * epochMs);
                var actual = (start - eta.AsOf).TotalSeconds;
                double Err(EpochEta? e) => e?.Remaining is { } r ? (r.TotalSeconds - actual) / actual * 100 : double.NaN;
                var err = Err(eta);
                summary.Add((epochMs, Math.Abs(err), Math.Abs(Err(chainOnly)), Math.Abs(Err(observedOnly))));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{epochMs,8} {n,2} {trial,6} {eta.Length.EpochsSpanned,15:0.0}  {eta.Source,-8} {eta.Remaining?.TotalSeconds,12:0.000} {actual,9:0.000} {err,8:0.0} {Err(chainOnly),12:0.0} {Err(observedOnly),15:0.0} {(seen - eta.AsOf).TotalSeconds,12:0.000}"));
            }
        stop.Cancel();
        await poller;
    }
    finally
    {
        ClusterControl.StopAll(layout);
        try { Directory.Delete(root, true); } catch (IOException) { }
    }
}
Console.WriteLine();
foreach (var g in summary.GroupBy(s => s.EpochMs))
{
    static string Stat(IEnumerable<double> xs) { var v = xs.Where(x => !double.IsNaN(x)).ToList(); return v.Count == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"mean {v.Average():0.0} %, max {v.Max():0.0} %"); }
    Console.WriteLine($"{g.Key} ms epochs, {g.Count()} trials: best |error| {Stat(g.Select(x => x.AbsErr))}; chain only {Stat(g.Select(x => x.ChainErr))}; observed only {Stat(g.Select(x => x.ObservedErr))}");
}

internal sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"expected --name value, found '{args[i]}'");
            d[args[i][2..]] = args[++i];
        }
        return new Args(d);
    }

    public int[] Ints(string name, int[] fallback, bool allowZero = false) =>
        values.TryGetValue(name, out var v)
            ? v.Split(',').Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && (i > 0 || (allowZero && i == 0))
                ? i : throw new ArgumentException($"--{name}: '{x}' is not a positive integer")).ToArray()
            : fallback;
}
