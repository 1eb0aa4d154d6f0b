using KmPs.Simulator.Control;
using KmPs.Simulator.Shapes;

namespace KmPs.Tests.Infrastructure;

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

    public static async Task<SnapshotNode> StartAsync(SimNodeStatus status)
    {
        var dir = new TempDir("kms");
        var backend = new SnapshotBackend(status);
        var server = await ControlServer.StartAsync(dir.File("internal.sock"), backend);
        return new SnapshotNode(dir, server, backend);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _dir.Dispose();
    }
}
