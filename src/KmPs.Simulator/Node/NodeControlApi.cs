using Grpc.Core;
using KmPs.Simulator.Control;
using KmPs.Simulator.Shapes;

namespace KmPs.Simulator.Node;

/// <summary>
/// The node's gRPC services (control status, readiness, shutdown, the consensus key manager status,
/// the registry's runtime, a peer's replication request), each answered from one state snapshot.
/// The only write is a shutdown request, one atomic transition.
/// </summary>
public sealed class NodeControlApi(SimNodeContext ctx, SimNodePorts ports, StateCell<SimNodeState> cell, Task exited) : IControlBackend
{
    /// <summary>Beacon and consensus timing from the cluster's clock (every generation serves them).</summary>
    public IChainTimeBackend ChainTime { get; } =
        new ChainTimeBackend(ports.Clock, () => ctx.Generation, () => ports.Clock.NowUnixMs);

    /// <summary>The status as control status would show it now.</summary>
    public SimNodeStatus Status() => NodeStatusView.Build(ctx, cell.Value, ChainView.Read(ports.Chain), ChainMoment.Of(ports.Clock));

    public byte[] GetStatus() => StatusShapes.Encode(Status());

    public bool IsReady() => cell.Value.IsReady;
    public bool IsSynced() => true;

    public async Task WaitReadyAsync(CancellationToken ct)
    {
        while (!IsReady()) await Task.Delay(TimeSpan.FromMilliseconds(50), ports.Time, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Like oasis-node: a registered node deregisters first (here at the next epoch transition)
    /// and then exits; wait=true returns once that has happened. Asking again changes nothing.
    /// </summary>
    public async Task RequestShutdownAsync(bool wait, CancellationToken ct)
    {
        var epoch = ports.Clock.Now;
        var (old, now) = cell.Update(s => s.Shutdown is not null ? s
            : s with { Shutdown = new ShutdownRequest(s.Registration.Registered ? epoch + 1 : 0) });
        if (old.Shutdown is null && now.Shutdown is not null)
            ports.Log.Info("node", "shutdown requested, deregistering", ("wait", wait));
        if (wait) await exited.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The consensus key manager status, in this node's version's shape and service names.</summary>
    public byte[] GetKeyManagerStatus(string service, byte[] request) => KeyManagerShapes.Answer(Status(), service, request);

    public byte[] GetRuntime(byte[] request)
    {
        var id = RegistryShapes.QueriedRuntimeId(request);
        if (id != ctx.Setup.KmRuntimeId) throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, "registry: no such runtime"));
        return RegistryShapes.EncodeRuntime(id, ChainView.Read(ports.Chain).SimDeployments, ctx.SoftwareVersion);
    }

    /// <summary>A peer asks for the master secret (stands in for the attested P2P replication call).</summary>
    public byte[] Replicate(byte[] request)
    {
        if (ReplicationSource.Gate(ports.Faults()) is { } gated) throw gated.ToRpc();
        var (node, identity) = ReplicationWire.DecodeRequest(request);
        var s = cell.Value;
        var epoch = ports.Clock.Now;
        var refusal = ReplicationSource.Decide(s, ctx.Setup.Identity, ports.Chain.Registration(node), identity, ports.Chain.Policy(epoch), epoch);
        if (refusal == ReplicationSource.NotAuthorized)
            ports.Log.Warn("worker/keymanager", "refused to replicate master secret to peer", ("peer", node), ("err", ReplicationRules.NotAuthorized));
        if (refusal is not null) throw refusal.ToRpc();
        ports.Log.Info("worker/keymanager", "replicating master secret to peer", ("peer", node));
        return ReplicationWire.EncodeAnswer(s.Secret!);
    }
}
