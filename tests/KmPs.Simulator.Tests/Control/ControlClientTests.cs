using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using KmPs.Core.Control;
using KmPs.Simulator.Control;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Control;

/// <summary>The client against the simulator's control server, in-process, on real unix sockets.</summary>
public class ControlClientTests
{
    [Theory]
    [InlineData(SchemaGeneration.V22_2)]
    [InlineData(SchemaGeneration.V23_0)]
    [InlineData(SchemaGeneration.V24)]
    public async Task GetStatus_for_each_generation(SchemaGeneration g)
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(g));
        var client = ControlClient.For(SocketAddress.Parse(node.Address));
        var s = await client.GetStatusAsync();
        Assert.Equal(g, s.SchemaGeneration);
        Assert.Equal(KmStatusWords.Ready, s.Status);
        Assert.Equal(TestVectors.Checksum, s.Checksum);
        Assert.Equal("unix:" + node.SocketPath, s.Socket);
    }

    [Fact]
    public async Task Starting_node_then_ready_on_the_same_channel()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Starting(SchemaGeneration.V23_0));
        var client = ControlClient.For(SocketAddress.Parse(node.DataDir));
        var s = await client.GetStatusAsync();
        Assert.Equal(KmStatusWords.Starting, s.Status);
        Assert.Null(s.Checksum);
        Assert.False(await client.IsReadyAsync());

        node.Backend.State = Statuses.Ready(SchemaGeneration.V23_0);
        Assert.True(await client.IsReadyAsync());
        Assert.True(await client.IsSyncedAsync());
        await client.WaitReadyAsync(TimeSpan.FromSeconds(5));
        Assert.Same(client, ControlClient.For(SocketAddress.Parse("unix:" + node.SocketPath)));
    }

    [Fact]
    public async Task GetStatus_error_carries_grpc_message()
    {
        var st = Statuses.Ready(SchemaGeneration.V24);
        st.GetStatusError = "failed to get registration status: registry: no such node";
        await using var node = await SnapshotNode.StartAsync(st);
        var e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(node.Address)).GetStatusAsync());
        Assert.Equal("GrpcError", e.ErrorId);
        Assert.Contains("registry: no such node", e.Message);
        Assert.Contains("Internal", e.Message);
    }

    [Fact]
    public async Task GetRuntime_returns_deployments_and_upgrade_epoch()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V22_2));
        var rt = await ControlClient.For(SocketAddress.Parse(node.Address)).GetRuntimeAsync(Convert.FromHexString(TestOrcs.TestnetKm));
        Assert.Equal(TestOrcs.TestnetKm, rt.Id);
        Assert.Equal(RegistryRuntime.KindKeyManager, rt.Kind);
        Assert.Equal(120UL, rt.Find(new OasisVersion(0, 4, 0))!.ValidFrom);
        Assert.Equal(new OasisVersion(0, 3, 3), rt.ActiveAt(100)!.Version);
        Assert.Equal(new OasisVersion(0, 4, 0), rt.ActiveAt(120)!.Version);
        Assert.Null(rt.ActiveAt(5));

        var other = await Assert.ThrowsAsync<KmException>(() =>
            ControlClient.For(SocketAddress.Parse(node.Address)).GetRuntimeAsync(new byte[32]));
        Assert.Equal("GrpcError", other.ErrorId);
        Assert.Contains("NotFound", other.Message);
    }

    [Fact]
    public async Task RequestShutdown_sends_the_bool()
    {
        var backend = new RecordingBackend();
        using var dir = new TempDir();
        await using var server = await ControlServer.StartAsync(dir.File("internal.sock"), backend);
        var client = ControlClient.For(SocketAddress.Parse(dir.Path));
        await client.RequestShutdownAsync(wait: true);
        await client.RequestShutdownAsync(wait: false);
        Assert.Equal(new[] { true, false }, backend.Shutdowns);
    }

    [Fact]
    public async Task Missing_socket_is_SocketNotFound()
    {
        using var dir = new TempDir();
        var e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(dir.Path)).GetStatusAsync());
        Assert.Equal("SocketNotFound", e.ErrorId);
        Assert.Equal(KmErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains(dir.File("internal.sock"), e.Message);
    }

    [Fact]
    public async Task Stale_socket_file_is_ConnectionRefused()
    {
        using var dir = new TempDir();
        var path = dir.File("internal.sock");
        // Bound but never listening, like the file a crashed node leaves: connects are refused.
        // (Disposing the socket would delete the file, so it lives for the test.)
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Bind(new UnixDomainSocketEndPoint(path));
        var e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(path)).GetStatusAsync());
        Assert.Equal("ConnectionRefused", e.ErrorId);
        Assert.Contains("stopped or crashed", e.Message);
    }

    [Fact]
    public async Task Non_grpc_peer_is_NotGrpcPeer()
    {
        using var dir = new TempDir();
        var path = dir.File("internal.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        var serve = Task.Run(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                using var c = await listener.AcceptAsync();
                await c.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                c.Shutdown(SocketShutdown.Both);
            }
        });
        var e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(path)).GetStatusAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("NotGrpcPeer", e.ErrorId);
        Assert.Equal(KmErrorCategory.ProtocolError, e.Category);
    }

    [Fact]
    public async Task Silent_peer_hits_the_deadline()
    {
        using var dir = new TempDir();
        var path = dir.File("internal.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(); // accepts into the backlog, never answers
        var e = await Assert.ThrowsAsync<KmException>(() =>
            ControlClient.For(SocketAddress.Parse(path)).GetStatusAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal("ControlTimeout", e.ErrorId);
        Assert.Equal(KmErrorCategory.OperationTimeout, e.Category);
    }

    [Fact]
    public async Task Cancellation_ends_a_wait_at_once()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Starting(SchemaGeneration.V24));
        using var cts = new CancellationTokenSource(200);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ControlClient.For(SocketAddress.Parse(node.Address)).WaitReadyAsync(TimeSpan.FromSeconds(30), cts.Token));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Body_that_is_not_cbor_is_CborDecodeError()
    {
        var backend = new RecordingBackend { StatusBody = new byte[] { 0x9f, 0x01 } };
        using var dir = new TempDir();
        await using var server = await ControlServer.StartAsync(dir.File("internal.sock"), backend);
        var e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(dir.Path)).GetStatusAsync());
        Assert.Equal("CborDecodeError", e.ErrorId);

        backend.StatusBody = new byte[] { 0x01 }; // valid CBOR, not a status map
        e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(dir.Path)).GetStatusAsync());
        Assert.Equal("CborDecodeError", e.ErrorId);
        Assert.Contains("integer", e.Message);
    }

    [Fact]
    public async Task Empty_status_body_is_reported_not_crashing()
    {
        var backend = new RecordingBackend { StatusBody = Array.Empty<byte>() };
        using var dir = new TempDir();
        await using var server = await ControlServer.StartAsync(dir.File("internal.sock"), backend);
        var e = await Assert.ThrowsAsync<KmException>(() => ControlClient.For(SocketAddress.Parse(dir.Path)).GetStatusAsync());
        Assert.Equal("CborDecodeError", e.ErrorId);
    }

    private sealed class RecordingBackend : IControlBackend
    {
        public List<bool> Shutdowns { get; } = new();
        public byte[] StatusBody { get; set; } = Array.Empty<byte>();
        public byte[] GetStatus() => StatusBody;
        public bool IsReady() => false;
        public bool IsSynced() => false;
        public Task WaitReadyAsync(CancellationToken ct) => Task.Delay(Timeout.Infinite, ct);
        public Task RequestShutdownAsync(bool wait, CancellationToken ct) { lock (Shutdowns) Shutdowns.Add(wait); return Task.CompletedTask; }
        public byte[] GetRuntime(byte[] request) => throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, "no"));
    }
}
