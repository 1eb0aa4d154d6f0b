using KmPs.Core.Control;
using KmPs.Simulator.Cluster;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Tests.Harness;

/// <summary>A simulated cluster of real node processes in a short /tmp folder, stopped and removed on dispose.</summary>
public sealed class SimCluster : IAsyncDisposable
{
    public ClusterLayout Layout { get; }
    public ClusterSpec Spec => ClusterSpec.Load(Layout);
    public ClusterOptions Options { get; }
    public string Root => Layout.Root;
    public string NewOrc => ClusterBuilder.OrcPath(Layout, Options.NewVersion);
    public string OldOrc => ClusterBuilder.OrcPath(Layout, Options.OldVersion);

    private SimCluster(ClusterLayout layout, ClusterOptions options)
    {
        Layout = layout;
        Options = options;
    }

    /// <param name="configure">Changes to the cluster's options before it is created (policy, software version, ...).</param>
    public static async Task<SimCluster> StartAsync(int nodes = 4, SchemaGeneration generation = SchemaGeneration.V24,
        int epochMs = 300, int upgradeIn = 8, bool start = true, Action<ClusterOptions>? configure = null)
    {
        var root = Path.Combine("/tmp", "kc" + Guid.NewGuid().ToString("N")[..10]);
        var options = new ClusterOptions { Nodes = nodes, Generation = generation, EpochIntervalMs = epochMs, UpgradeInEpochs = upgradeIn };
        configure?.Invoke(options);
        ClusterBuilder.Create(root, options);
        var c = new SimCluster(new ClusterLayout(root), options);
        if (start) await ClusterControl.StartAllAsync(c.Layout, TimeSpan.FromSeconds(60), CancellationToken.None);
        return c;
    }

    public string Socket(string node) => "unix:" + Layout.SocketPath(node);
    public IEnumerable<string> Names => Spec.Nodes.Select(n => n.Name);

    public Task<KmStatus> StatusAsync(string node) =>
        ControlClient.For(SocketAddress.Parse(Socket(node))).GetStatusAsync(TimeSpan.FromSeconds(5));

    public ulong Epoch => EpochClock.Of(Spec).Now;

    public AuditReport Audit() => ClusterAuditor.Audit(Root);

    public void SetFaults(string node, Simulator.Node.Faults faults) =>
        AtomicFile.WriteAllText(Layout.FaultFile(node), System.Text.Json.JsonSerializer.Serialize(faults, ClusterSpec.Json));

    public string Log(string node) => File.Exists(Layout.LogFile(node)) ? File.ReadAllText(Layout.LogFile(node)) : "";

    /// <summary>Polls until the condition holds or fails with what was last seen.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last = default!;
        Exception? error = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await probe();
                error = null;
                if (done(last)) return last;
            }
            catch (KmException e) { error = e; }
            await Task.Delay(50);
        }
        throw new TimeoutException($"{what} not reached in {timeout.TotalSeconds} s; last: {(error?.Message ?? last?.ToString())}");
    }

    public async ValueTask DisposeAsync()
    {
        try { ClusterControl.StopAll(Layout); } catch (Exception) { }
        await Task.Yield();
        try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
