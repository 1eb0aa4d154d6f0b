using System.Collections.Concurrent;
using Grpc.Core;
using KmPs.Core.Policy;
using KmPs.Core.Wire;

namespace KmPs.Core.Control;

/// <summary>
/// The consensus key manager status as a node answers it (raw CBOR), the service that answered, and
/// the epoch read just before it: what crosses a remoting session, parsed on the admin host.
/// </summary>
public sealed record KmStatusAnswer(byte[] Cbor, string Service, ulong Epoch)
{
    /// <exception cref="KmException">KeyManagerStatusShapeUnknown.</exception>
    public KmPolicyStatus Parse(string source)
    {
        try { return KmPolicyStatus.FromCbor(CborCodec.Decode(Cbor), Epoch, Service, source); }
        catch (CborDecodeException e) { throw PolicyErrors.ShapeUnknown(source, e); }
    }
}

/// <summary>
/// The key manager status query on a node's internal.sock: <c>GetStatus</c> with
/// <c>NamespaceQuery{height int64, id Namespace}</c> (go/registry/api/api.go, the same from 22.2.13 to
/// 26.1). oasis-node registers the key manager backend on its internal gRPC server in every version
/// (go/oasis-node/cmd/node/node.go keymanagerAPI.RegisterService). The service is
/// <c>oasis-core.KeyManager</c> up to 25.0; from 25.1 it is <c>oasis-core.KeyManager.Secrets</c>, with the
/// old name still registered as deprecated (go/keymanager/secrets/grpc.go RegisterService and
/// grpc_deprecated.go). The new name is asked first; a node that does not know it answers
/// Unimplemented and the old name is asked. The name that answered is remembered per socket.
/// </summary>
public sealed class KeyManagerClient(ControlClient control)
{
    private static readonly ConcurrentDictionary<string, string> Answered = new();

    public ControlClient Control { get; } = control;

    private string Socket => Control.Address.Path;

    public static KeyManagerClient For(SocketAddress address) => new(ControlClient.For(address));

    /// <summary>NamespaceQuery{height, id}: a CBOR map, id a 32-byte string; height 0 is the latest block.</summary>
    public static byte[] NamespaceQuery(byte[] runtimeId, long height = 0)
    {
        if (runtimeId is null || runtimeId.Length != 32) throw new ArgumentException("a runtime id is 32 bytes", nameof(runtimeId));
        if (height < 0) throw new ArgumentOutOfRangeException(nameof(height), "a height is 0 (latest) or positive");
        return CborCodec.Encode(new CborMapBuilder()
            .Add("height", CborNode.Int(height))
            .Add("id", CborNode.Bytes(runtimeId))
            .Build());
    }

    /// <summary>The key manager status of a runtime (64 hex), raw, with the epoch read just before it.</summary>
    /// <exception cref="KmException">KeyManagerStatusNotServed, KeyManagerStatusUnavailable, or a transport error.</exception>
    public async Task<KmStatusAnswer> GetStatusAnswerAsync(string runtimeId, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var id = Convert.FromHexString(runtimeId);
        // The epoch first: a status read after it is at least as new, so next_policy applies at epoch + 1 at the latest.
        ulong epoch;
        try { epoch = await new ChainTimeClient(Control).GetEpochAsync(0, timeout, ct).ConfigureAwait(false); }
        catch (KmException e) when (e.ErrorId == Timing.TimingErrorIds.ChainTimeNotServed)
        {
            // Every oasis-node serves Beacon/GetEpoch; a stand-in that does not still reports consensus.latest_epoch.
            epoch = (await Control.GetStatusAsync(timeout, ct).ConfigureAwait(false)).Epoch;
        }
        var request = NamespaceQuery(id);
        var first = Answered.TryGetValue(Socket, out var known) ? known : ControlMethods.KeyManagerSecrets;
        var order = new[] { first, first == ControlMethods.KeyManagerSecrets ? ControlMethods.KeyManager : ControlMethods.KeyManagerSecrets };
        KmException? unimplemented = null;
        foreach (var service in order)
        {
            byte[] body;
            try
            {
                body = await Control.CallAsync(service, ControlMethods.GetStatus, request, timeout, ct).ConfigureAwait(false);
            }
            catch (KmException e) when (e.ErrorId == "GrpcError" && e.InnerException is RpcException { StatusCode: StatusCode.Unimplemented })
            {
                unimplemented = e;
                continue;
            }
            catch (KmException e) when (e.ErrorId == "GrpcError" && e.InnerException is RpcException r)
            {
                // "keymanager: no such status" (ErrNoSuchStatus) for a runtime that is not a key manager, or a node still syncing.
                throw PolicyErrors.Unavailable(Socket, runtimeId, r.Status.Detail, e);
            }
            if (body.Length == 0) throw PolicyErrors.Unavailable(Socket, runtimeId, "an empty answer");
            Answered[Socket] = service;
            return new KmStatusAnswer(body, service, epoch);
        }
        throw PolicyErrors.NotServed(Socket, unimplemented!);
    }

    /// <summary>The key manager status with its policy and scheduled next policy, typed.</summary>
    public async Task<KmPolicyStatus> GetPolicyStatusAsync(string runtimeId, TimeSpan? timeout = null, CancellationToken ct = default) =>
        (await GetStatusAnswerAsync(runtimeId, timeout, ct).ConfigureAwait(false)).Parse(Control.Address.ToString());
}
