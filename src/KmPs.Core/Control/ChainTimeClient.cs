using Grpc.Core;
using KmPs.Core.Timing;
using KmPs.Core.Wire;

namespace KmPs.Core.Control;

/// <summary>
/// The beacon and consensus calls that say when epochs began, on the same internal.sock as the
/// control API (oasis-node registers oasis-core.Beacon and oasis-core.Consensus on its internal
/// gRPC server in every supported version; see docs/spec-epoch-timing.md). Every request is a bare
/// CBOR integer: an int64 height (0 = latest, consensus.HeightLatest) or a uint64 epoch.
/// </summary>
public sealed class ChainTimeClient(ControlClient control)
{
    public ControlClient Control { get; } = control;

    private string Socket => Control.Address.Path;

    public static ChainTimeClient For(SocketAddress address) => new(ControlClient.For(address));

    /// <summary>Request of GetEpoch / GetFutureEpoch / ConsensusParameters / GetBlock: CBOR int64 height.</summary>
    public static byte[] HeightRequest(long height)
    {
        if (height < 0) throw TimingErrors.InvalidInput($"A height is 0 (latest) or positive, not {height}.");
        return CborCodec.Encode(CborNode.Int(height));
    }

    /// <summary>Request of GetEpochBlock: CBOR uint64 epoch (beacon.EpochTime).</summary>
    public static byte[] EpochRequest(ulong epoch) => CborCodec.Encode(CborNode.UInt(epoch));

    /// <summary>Beacon/GetEpoch: the epoch at a height (0 = latest).</summary>
    public async Task<ulong> GetEpochAsync(long height = 0, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var node = await CallAsync(ControlMethods.Beacon, ControlMethods.GetEpoch, HeightRequest(height), timeout, ct).ConfigureAwait(false);
        return Parse(ControlMethods.GetEpoch, () => ParseUInt(node, "epoch"));
    }

    /// <summary>Beacon/GetEpochBlock: the height of the first block of an epoch.</summary>
    public async Task<long> GetEpochBlockAsync(ulong epoch, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        CborNode node;
        try
        {
            node = await CallAsync(ControlMethods.Beacon, ControlMethods.GetEpochBlock, EpochRequest(epoch), timeout, ct).ConfigureAwait(false);
        }
        catch (KmException e) when (e.ErrorId == "GrpcError" && e.InnerException is RpcException r)
        {
            // "epoch predates base", "failed to find historic epoch", pruned state: all plain errors.
            throw TimingErrors.EpochBlockUnavailable(Socket, epoch, r.Status.Detail, e);
        }
        return Parse(ControlMethods.GetEpochBlock, () => ParseInt(node, "height"));
    }

    /// <summary>Beacon/GetFutureEpoch: the transition scheduled after a height, or null.</summary>
    public async Task<ScheduledEpoch?> GetFutureEpochAsync(long height = 0, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var node = await CallAsync(ControlMethods.Beacon, ControlMethods.GetFutureEpoch, HeightRequest(height), timeout, ct).ConfigureAwait(false);
        return Parse(ControlMethods.GetFutureEpoch, () => ScheduledEpoch.FromCbor(node));
    }

    /// <summary>Beacon/ConsensusParameters: the backend and the epoch interval in blocks.</summary>
    public async Task<BeaconParameters> GetBeaconParametersAsync(long height = 0, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var node = await CallAsync(ControlMethods.Beacon, ControlMethods.ConsensusParameters, HeightRequest(height), timeout, ct).ConfigureAwait(false);
        return Parse(ControlMethods.ConsensusParameters, () => BeaconParameters.FromCbor(node));
    }

    /// <summary>Consensus/GetBlock: a block's height and time (0 = latest).</summary>
    public async Task<ConsensusBlock> GetBlockAsync(long height = 0, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var node = await CallAsync(ControlMethods.Consensus, ControlMethods.GetBlock, HeightRequest(height), timeout, ct).ConfigureAwait(false);
        return Parse(ControlMethods.GetBlock, () => ConsensusBlock.FromCbor(node));
    }

    private async Task<CborNode> CallAsync(string service, string method, byte[] request, TimeSpan? timeout, CancellationToken ct)
    {
        byte[] body;
        try
        {
            body = await Control.CallAsync(service, method, request, timeout, ct).ConfigureAwait(false);
        }
        catch (KmException e) when (e.ErrorId == "GrpcError" && e.InnerException is RpcException { StatusCode: StatusCode.Unimplemented })
        {
            throw TimingErrors.NotServed(Socket, $"/{service}/{method}", e);
        }
        try { return CborCodec.Decode(body); }
        catch (CborDecodeException e) { throw TimingErrors.ShapeUnknown(Socket, method, e); }
    }

    private T Parse<T>(string method, Func<T> read)
    {
        try { return read(); }
        catch (CborDecodeException e) { throw TimingErrors.ShapeUnknown(Socket, method, e); }
    }

    // A bare integer answer must be there: an empty body would read as 0 and look like a real height.
    private static long ParseInt(CborNode node, string field) =>
        node is CborInteger ? ((CborNode?)node).Int(field) : throw new CborDecodeException($"{field}: expected an integer, found a {node.Kind}");

    private static ulong ParseUInt(CborNode node, string field) =>
        node is CborInteger ? ((CborNode?)node).UInt(field) : throw new CborDecodeException($"{field}: expected an unsigned integer, found a {node.Kind}");
}
