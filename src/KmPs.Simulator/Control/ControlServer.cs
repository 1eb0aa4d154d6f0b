using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using KmPs.Core.Control;
using KmPs.Core.Wire;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KmPs.Simulator.Control;

/// <summary>
/// The server half of oasis-node's control API: ASP.NET Core gRPC on a unix socket, HTTP/2 only
/// (h2c prior knowledge, no TLS), methods added by hand with pass-through marshallers because the
/// node's codec is CBOR and no .proto exists. Accepts application/grpc and application/grpc+cbor.
/// </summary>
public sealed class ControlServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public string SocketPath { get; }
    public string? P2pSocketPath { get; }

    private ControlServer(WebApplication app, string socketPath, string? p2pSocketPath)
    {
        _app = app;
        SocketPath = socketPath;
        P2pSocketPath = p2pSocketPath;
    }

    public static Task<ControlServer> StartAsync(string socketPath, IControlBackend backend, CancellationToken ct = default) =>
        StartAsync(socketPath, null, backend, ct);

    /// <param name="p2pSocketPath">A second socket serving the same methods, for peers (replication); null for none.</param>
    public static async Task<ControlServer> StartAsync(string socketPath, string? p2pSocketPath, IControlBackend backend, CancellationToken ct = default)
    {
        // A stale socket from a crash, as oasis-node removes it.
        foreach (var s in new[] { socketPath, p2pSocketPath })
            if (s is not null && File.Exists(s)) File.Delete(s);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenUnixSocket(socketPath, o => o.Protocols = HttpProtocols.Http2);
            if (p2pSocketPath is not null) k.ListenUnixSocket(p2pSocketPath, o => o.Protocols = HttpProtocols.Http2);
            k.Limits.MaxRequestBodySize = 100 * 1024 * 1024;
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 100 * 1024 * 1024;
            o.EnableDetailedErrors = true;
        });
        builder.Services.AddSingleton(backend);
        builder.Services.AddSingleton<NodeControllerService>();
        builder.Services.AddSingleton<RegistryService>();
        builder.Services.AddSingleton<IServiceMethodProvider<NodeControllerService>, NodeControllerMethods>();
        builder.Services.AddSingleton<IServiceMethodProvider<RegistryService>, RegistryMethods>();
        builder.Services.AddSingleton<ChainTimeService>();
        builder.Services.AddSingleton<IServiceMethodProvider<ChainTimeService>, BeaconMethods>();
        builder.Services.AddSingleton<ConsensusService>();
        builder.Services.AddSingleton<IServiceMethodProvider<ConsensusService>, ConsensusMethods>();
        builder.Services.AddSingleton<KeyManagerService>();
        builder.Services.AddSingleton<IServiceMethodProvider<KeyManagerService>, KeyManagerMethods>();
        builder.Services.AddSingleton<ReplicationService>();
        builder.Services.AddSingleton<IServiceMethodProvider<ReplicationService>, ReplicationMethods>();
        var app = builder.Build();
        app.MapGrpcService<NodeControllerService>();
        app.MapGrpcService<RegistryService>();
        app.MapGrpcService<ReplicationService>();
        app.MapGrpcService<KeyManagerService>();
        app.MapGrpcService<ChainTimeService>();
        app.MapGrpcService<ConsensusService>();
        await app.StartAsync(ct).ConfigureAwait(false);
        // Peers run as other users (one per machine): the replication socket is open to all, as a node's P2P port is.
        if (p2pSocketPath is not null) File.SetUnixFileMode(p2pSocketPath, (UnixFileMode)0x1ff);
        return new ControlServer(app, socketPath, p2pSocketPath);
    }

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
            foreach (var s in new[] { SocketPath, P2pSocketPath })
            {
                try { if (s is not null) File.Delete(s); } catch (IOException) { }
            }
        }
    }

    internal static readonly Marshaller<byte[]> PassThrough = Marshallers.Create(b => b, b => b);

    internal static Method<byte[], byte[]> Unary(string service, string name) =>
        new(MethodType.Unary, service, name, PassThrough, PassThrough);

    public sealed class NodeControllerService(IControlBackend backend)
    {
        public IControlBackend Backend { get; } = backend;
    }

    public sealed class RegistryService(IControlBackend backend)
    {
        public IControlBackend Backend { get; } = backend;
    }

    public sealed class ReplicationService(IControlBackend backend)
    {
        public IControlBackend Backend { get; } = backend;
    }

    /// <summary>
    /// The key manager backend, registered on internal.sock by oasis-node (node.go keymanagerAPI.RegisterService):
    /// oasis-core.KeyManager, and from 25.1 also oasis-core.KeyManager.Secrets (secrets/grpc.go). Both names
    /// are mapped here; the backend answers Unimplemented for a name its version does not register.
    /// </summary>
    public sealed class KeyManagerService(IControlBackend backend)
    {
        public IControlBackend Backend { get; } = backend;
    }

    /// <summary>oasis-core.Beacon (go/beacon/api/grpc.go), registered by oasis-node on internal.sock (node.go startRuntimeServices).</summary>
    public sealed class ChainTimeService(IControlBackend backend)
    {
        public IChainTimeBackend ChainTime => backend.ChainTime
            ?? throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, "unknown service oasis-core.Beacon"));
    }

    /// <summary>oasis-core.Consensus (go/consensus/api/grpc.go), registered on internal.sock (node.go consensusAPI.RegisterService).</summary>
    public sealed class ConsensusService(IControlBackend backend)
    {
        public IChainTimeBackend ChainTime => backend.ChainTime
            ?? throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, "unknown service oasis-core.Consensus"));
    }

    private sealed class BeaconMethods : IServiceMethodProvider<ChainTimeService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ChainTimeService> context)
        {
            const string svc = ControlMethods.Beacon;
            var md = new List<object>();
            context.AddUnaryMethod(Unary(svc, ControlMethods.GetEpoch), md, (s, req, _) => Task.FromResult(s.ChainTime.GetEpoch(req)));
            context.AddUnaryMethod(Unary(svc, ControlMethods.GetEpochBlock), md, (s, req, _) => Task.FromResult(s.ChainTime.GetEpochBlock(req)));
            context.AddUnaryMethod(Unary(svc, ControlMethods.GetFutureEpoch), md, (s, req, _) => Task.FromResult(s.ChainTime.GetFutureEpoch(req)));
            context.AddUnaryMethod(Unary(svc, ControlMethods.ConsensusParameters), md, (s, req, _) => Task.FromResult(s.ChainTime.BeaconParameters(req)));
        }
    }

    private sealed class ConsensusMethods : IServiceMethodProvider<ConsensusService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ConsensusService> context) =>
            context.AddUnaryMethod(Unary(ControlMethods.Consensus, ControlMethods.GetBlock), new List<object>(),
                (s, req, _) => Task.FromResult(s.ChainTime.GetBlock(req)));
    }

    private sealed class KeyManagerMethods : IServiceMethodProvider<KeyManagerService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<KeyManagerService> context)
        {
            foreach (var svc in new[] { ControlMethods.KeyManager, ControlMethods.KeyManagerSecrets })
                context.AddUnaryMethod(Unary(svc, ControlMethods.GetStatus), new List<object>(),
                    (s, req, _) => Task.FromResult(s.Backend.GetKeyManagerStatus(svc, req)));
        }
    }

    private sealed class ReplicationMethods : IServiceMethodProvider<ReplicationService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ReplicationService> context) =>
            context.AddUnaryMethod(Unary(Node.ReplicationWire.Service, Node.ReplicationWire.Method), new List<object>(),
                (s, req, _) => Task.FromResult(s.Backend.Replicate(req)));
    }

    private static readonly byte[] Empty = Array.Empty<byte>();
    private static byte[] Bool(bool v) => CborCodec.Encode(CborNode.Bool(v));

    private sealed class NodeControllerMethods : IServiceMethodProvider<NodeControllerService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<NodeControllerService> context)
        {
            const string svc = ControlMethods.NodeController;
            var md = new List<object>();
            context.AddUnaryMethod(Unary(svc, ControlMethods.GetStatus), md, (s, _, _) => Task.FromResult(s.Backend.GetStatus()));
            context.AddUnaryMethod(Unary(svc, ControlMethods.IsReady), md, (s, _, _) => Task.FromResult(Bool(s.Backend.IsReady())));
            context.AddUnaryMethod(Unary(svc, ControlMethods.IsSynced), md, (s, _, _) => Task.FromResult(Bool(s.Backend.IsSynced())));
            context.AddUnaryMethod(Unary(svc, ControlMethods.WaitSync), md, (_, _, _) => Task.FromResult(Empty));
            context.AddUnaryMethod(Unary(svc, ControlMethods.WaitReady), md, async (s, _, ctx) =>
            {
                await s.Backend.WaitReadyAsync(ctx.CancellationToken).ConfigureAwait(false);
                return Empty;
            });
            context.AddUnaryMethod(Unary(svc, ControlMethods.RequestShutdown), md, async (s, req, ctx) =>
            {
                // Like the Go handler: dec(&wait); an empty body decodes to false.
                bool wait;
                try { wait = CborCodec.Decode(req) is CborBool { Value: true }; }
                catch (CborDecodeException e) { throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, e.Message)); }
                await s.Backend.RequestShutdownAsync(wait, ctx.CancellationToken).ConfigureAwait(false);
                return Empty;
            });
        }
    }

    private sealed class RegistryMethods : IServiceMethodProvider<RegistryService>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<RegistryService> context)
        {
            context.AddUnaryMethod(Unary(ControlMethods.Registry, ControlMethods.GetRuntime), new List<object>(),
                (s, req, _) => Task.FromResult(s.Backend.GetRuntime(req)));
        }
    }
}
