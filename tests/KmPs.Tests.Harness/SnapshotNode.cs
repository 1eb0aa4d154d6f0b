using KmPs.Simulator.Control;
using KmPs.Simulator.Shapes;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>An in-process control server with a status snapshot, on a socket in its own data dir.</summary>
public sealed class SnapshotNode : IAsyncDisposable
{
    private readonly TempDir _dir;
    public ControlServer Server { get; }
    public SnapshotBackend Backend { get; }
    public string DataDir => _dir.Path;
    public string SocketPath => Server.SocketPath;
    public string Address => "unix:" + SocketPath;

    private SnapshotNode(TempDir dir, ControlServer server, SnapshotBackend backend)
    {
        _dir = dir;
        Server = server;
        Backend = backend;
    }

    /// <param name="statusDelay">How long each GetStatus takes (a slow node), default none.</param>
    public static async Task<SnapshotNode> StartAsync(SimNodeStatus status, TimeSpan? statusDelay = null)
    {
        var dir = new TempDir("kms");
        var backend = new SnapshotBackend(status);
        IControlBackend served = statusDelay is { } d ? new SlowStatus(backend, d) : backend;
        var server = await ControlServer.StartAsync(dir.File("internal.sock"), served);
        return new SnapshotNode(dir, server, backend);
    }

    private sealed class SlowStatus(IControlBackend inner, TimeSpan delay) : IControlBackend
    {
        public byte[] GetStatus()
        {
            Thread.Sleep(delay);
            return inner.GetStatus();
        }

        public bool IsReady() => inner.IsReady();
        public bool IsSynced() => inner.IsSynced();
        public Task WaitReadyAsync(CancellationToken ct) => inner.WaitReadyAsync(ct);
        public Task RequestShutdownAsync(bool wait, CancellationToken ct) => inner.RequestShutdownAsync(wait, ct);
        public byte[] GetRuntime(byte[] request) => inner.GetRuntime(request);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _dir.Dispose();
    }
}
