using System.Collections.Concurrent;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using KmPs.Core.Status;
using KmPs.Core.Wire;

namespace KmPs.Core.Control;

/// <summary>
/// Client of oasis-node's control API on its unix socket: plaintext HTTP/2, gRPC framing, CBOR
/// bodies through pass-through marshallers (no .proto exists; the node forces its CBOR codec
/// whatever the content-subtype). One channel per socket, shared by the whole process.
/// </summary>
public sealed class ControlClient
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private static readonly ConcurrentDictionary<string, ControlClient> Pool = new();
    private static readonly Marshaller<byte[]> PassThrough = Marshallers.Create(b => b, b => b);

    private readonly GrpcChannel _channel;
    private readonly CallInvoker _invoker;

    public SocketAddress Address { get; }

    private ControlClient(SocketAddress address)
    {
        Address = address;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(address.Path), ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            // The node drops connections idle for 600 s; close ours first. No keepalive pings:
            // grpc-go's default enforcement sends GOAWAY to clients pinging more than every 5 min.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(300),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            EnableMultipleHttp2Connections = true,
        };
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 100 * 1024 * 1024,
        });
        _invoker = _channel.CreateCallInvoker();
    }

    private static readonly ConcurrentDictionary<(string Service, string Method), Method<byte[], byte[]>> Methods = new();

    /// <summary>
    /// One Method object per path: GrpcChannel caches per-method data keyed by the object's identity,
    /// so a new object per call would cost a cache entry (and URI building) on every call, never freed.
    /// </summary>
    internal static Method<byte[], byte[]> MethodFor(string service, string method) =>
        Methods.GetOrAdd((service, method), k => new Method<byte[], byte[]>(MethodType.Unary, k.Service, k.Method, PassThrough, PassThrough));

    /// <summary>The shared client of a socket.</summary>
    public static ControlClient For(SocketAddress address) => Pool.GetOrAdd(address.Path, _ => new ControlClient(address));

    /// <summary>One unary call with a raw CBOR body; maps transport failures to <see cref="KmException"/>.</summary>
    /// <param name="idempotent">Whether the call may be sent again after a stale-connection failure
    /// (reads and waits). RequestShutdown is not: a retry could reach a freshly restarted node and
    /// set its persisted forced-deregister flag.</param>
    public async Task<byte[]> CallAsync(string service, string method, byte[] request, TimeSpan? timeout, CancellationToken ct, bool idempotent = true)
    {
        var m = MethodFor(service, method);
        var path = m.FullName;
        // One look at the socket per call. "Cannot see" is not "absent": a node's socket in a data dir
        // this user may not enter is not a stopped node.
        switch (LocalState.LocalStatePath.Probe(Address.Path))
        {
            case LocalState.LocalStatePath.Presence.Unreadable:
                throw new KmException(ControlErrorIds.SocketAccessDenied, KmErrorCategory.PermissionDenied,
                    $"Whether a control socket is at {Address.Path} cannot be seen by this user (permission denied on its folder); the node may well be running.", Address.Path)
                {
                    RecommendedAction = LocalState.LocalStatePath.RunAsNodeUser,
                };
            case LocalState.LocalStatePath.Presence.Absent:
                throw new KmException(ControlErrorIds.SocketNotFound, KmErrorCategory.ObjectNotFound,
                    $"No control socket at {Address.Path}: the node is not running, or the path is not its data dir.", Address.Path)
                {
                    RecommendedAction = "Check the node's data dir (common.data_dir / datadir in its config) and that the node is started.",
                };
        }
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        try
        {
            try
            {
                using var call = _invoker.AsyncUnaryCall(m, null, new CallOptions(deadline: deadline, cancellationToken: ct), request);
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (idempotent && IsStaleConnection(e) && !ct.IsCancellationRequested && DateTime.UtcNow < deadline)
            {
                // The pooled HTTP/2 connection belonged to a node process that has since exited or
                // restarted on the same socket (GOAWAY / closed). The request never reached a
                // handler, so one retry on a fresh connection is safe for every method here.
                using var call = _invoker.AsyncUnaryCall(m, null, new CallOptions(deadline: deadline, cancellationToken: ct), request);
                return await call.ResponseAsync.ConfigureAwait(false);
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
        catch (RpcException e)
        {
            throw Translate(e, path);
        }
    }

    private KmException Translate(RpcException e, string path)
    {
        var socketError = FindInner<SocketException>(e);
        if (socketError?.SocketErrorCode == SocketError.ConnectionRefused)
            return new KmException(ControlErrorIds.ConnectionRefused, KmErrorCategory.ConnectionError,
                $"Nothing accepts connections on {Address.Path}: the node is stopped or crashed and left its socket file behind.",
                Address.Path, e);
        if (socketError is not null && socketError.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AccessDenied)
            return new KmException(socketError.SocketErrorCode == SocketError.AccessDenied ? ControlErrorIds.SocketAccessDenied : ControlErrorIds.SocketNotFound,
                socketError.SocketErrorCode == SocketError.AccessDenied ? KmErrorCategory.PermissionDenied : KmErrorCategory.ObjectNotFound,
                $"Cannot connect to {Address.Path}: {socketError.Message}.", Address.Path, e);
        if (e.StatusCode == StatusCode.DeadlineExceeded)
            return new KmException(ControlErrorIds.ControlTimeout, KmErrorCategory.OperationTimeout,
                $"{path} on {Address.Path} did not answer within its deadline.", Address.Path, e);
        if (IsNotGrpc(e))
            return new KmException(ControlErrorIds.NotGrpcPeer, KmErrorCategory.ProtocolError,
                $"{Address.Path} does not speak gRPC over HTTP/2 ({e.Status.Detail}); is it an oasis-node control socket?",
                Address.Path, e);
        if (e.StatusCode == StatusCode.Unavailable)
            return new KmException(ControlErrorIds.ConnectionFailed, KmErrorCategory.ConnectionError,
                $"Cannot reach {Address.Path}: {e.Status.Detail}", Address.Path, e);
        return new KmException(ControlErrorIds.GrpcError, KmErrorCategory.InvalidResult,
            $"{path} failed on {Address.Path}: {e.StatusCode}: {e.Status.Detail}", Address.Path, e);
    }

    private static bool IsStaleConnection(RpcException e) =>
        e.StatusCode is StatusCode.Internal or StatusCode.Unavailable && FindInner<HttpRequestException>(e) is not null
        && FindInner<SocketException>(e) is null;

    private static bool IsNotGrpc(RpcException e) =>
        e.Status.Detail.StartsWith("Bad gRPC response", StringComparison.Ordinal) ||
        FindInner<HttpProtocolException>(e) is not null ||
        (e.StatusCode is StatusCode.Internal or StatusCode.Unavailable && FindInner<IOException>(e) is not null
            && FindInner<SocketException>(e)?.SocketErrorCode is null or SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown);

    private static T? FindInner<T>(Exception e) where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is T t) return t;
        return null;
    }

    private static CborNode DecodeResponse(byte[] body, string what, SocketAddress address)
    {
        try { return CborCodec.Decode(body); }
        catch (CborDecodeException e)
        {
            throw new KmException(ControlErrorIds.CborDecodeError, KmErrorCategory.InvalidData,
                $"The {what} answer from {address.Path} is not valid CBOR: {e.Message}", address.Path, e);
        }
    }

    private static readonly byte[] Empty = System.Array.Empty<byte>();

    /// <summary>The whole control.Status as a CBOR tree.</summary>
    public async Task<CborNode> GetStatusCborAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var body = await CallAsync(ControlMethods.NodeController, ControlMethods.GetStatus, Empty, timeout, ct).ConfigureAwait(false);
        var node = DecodeResponse(body, "GetStatus", Address);
        if (node is not CborMap)
            throw new KmException(ControlErrorIds.CborDecodeError, KmErrorCategory.InvalidData,
                $"GetStatus on {Address.Path} returned a CBOR {node.Kind}, not a status map.", Address.Path);
        return node;
    }

    /// <summary>GetStatus, normalised.</summary>
    public async Task<KmStatus> GetStatusAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var node = await GetStatusCborAsync(timeout, ct).ConfigureAwait(false);
        return ParseStatus(node, Address);
    }

    public static KmStatus ParseStatus(CborNode node, SocketAddress address)
    {
        try { return StatusParser.Parse(node, address.ToString()); }
        catch (CborDecodeException e)
        {
            throw new KmException(ControlErrorIds.StatusShapeUnknown, KmErrorCategory.InvalidData,
                $"The status from {address.Path} does not have a known oasis-node shape: {e.Message}", address.Path, e);
        }
    }

    /// <summary>
    /// Whether a node's control socket answers. Silent means no socket file or refused connections
    /// (the only states in which a node counts as stopped); anything else is neither.
    /// </summary>
    public static async Task<Liveness> ProbeAsync(SocketAddress address, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await For(address).CallAsync(ControlMethods.NodeController, ControlMethods.IsSynced, Empty, timeout, ct).ConfigureAwait(false);
            return new Liveness(true, false, "answering");
        }
        catch (KmException e) when (e.ErrorId is "SocketNotFound" or "ConnectionRefused")
        {
            return new Liveness(false, true, e.ErrorId == "SocketNotFound" ? "no socket" : "connection refused");
        }
        catch (KmException e) when (e.ErrorId == "GrpcError")
        {
            return new Liveness(true, false, "answering with an error: " + e.Message);
        }
        catch (KmException e)
        {
            return new Liveness(false, false, e.Message);
        }
    }

    public sealed record Liveness(bool Answering, bool Silent, string Detail);

    public Task<bool> IsReadyAsync(TimeSpan? timeout = null, CancellationToken ct = default) =>
        BoolCallAsync(ControlMethods.IsReady, timeout, ct);

    public Task<bool> IsSyncedAsync(TimeSpan? timeout = null, CancellationToken ct = default) =>
        BoolCallAsync(ControlMethods.IsSynced, timeout, ct);

    private async Task<bool> BoolCallAsync(string method, TimeSpan? timeout, CancellationToken ct)
    {
        var body = await CallAsync(ControlMethods.NodeController, method, Empty, timeout, ct).ConfigureAwait(false);
        return DecodeResponse(body, method, Address) is CborBool { Value: true };
    }

    /// <summary>Blocks until the node is ready (server side) or the timeout passes.</summary>
    public Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct = default) =>
        CallAsync(ControlMethods.NodeController, ControlMethods.WaitReady, Empty, timeout, ct);

    /// <summary>
    /// RequestShutdown with an explicit CBOR bool (an empty body would mean wait=false only by
    /// grpc-go's nil handling). A registered node first deregisters, which can take ~2 epochs.
    /// </summary>
    public Task RequestShutdownAsync(bool wait, TimeSpan? timeout = null, CancellationToken ct = default) =>
        CallAsync(ControlMethods.NodeController, ControlMethods.RequestShutdown, ShutdownRequest(wait), timeout, ct, idempotent: false);

    public static byte[] ShutdownRequest(bool wait) => CborCodec.Encode(CborNode.Bool(wait));

    /// <summary>Registry/GetRuntime: the runtime descriptor with its deployments.</summary>
    public async Task<RegistryRuntime> GetRuntimeAsync(byte[] runtimeId, long height = 0, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var body = await CallAsync(ControlMethods.Registry, ControlMethods.GetRuntime, GetRuntimeRequest(runtimeId, height), timeout, ct)
            .ConfigureAwait(false);
        var node = DecodeResponse(body, "GetRuntime", Address);
        try { return RegistryRuntime.FromCbor(node); }
        catch (CborDecodeException e)
        {
            throw new KmException(ControlErrorIds.CborDecodeError, KmErrorCategory.InvalidData,
                $"The runtime descriptor from {Address.Path} does not decode: {e.Message}", Address.Path, e);
        }
    }

    /// <summary>GetRuntimeQuery{height int64, id bstr(32)}; include_suspended is omitempty.</summary>
    public static byte[] GetRuntimeRequest(byte[] runtimeId, long height = 0)
    {
        if (runtimeId is null || runtimeId.Length != 32) throw new ArgumentException("a runtime id is 32 bytes", nameof(runtimeId));
        return CborCodec.Encode(new CborMapBuilder()
            .Add("height", CborNode.Int(height))
            .Add("id", CborNode.Bytes(runtimeId))
            .Build());
    }
}
