namespace KmPs.Tools;

/// <summary>
/// The faults the tools inject into an upgrade: KmPs.Chaos draws them at random times against
/// simulated processes (<c>RunPlan.Kinds</c>), KmPs.Explorer puts each node fault at each step of a run
/// against its in-memory cluster (<c>Explorer.FaultKinds</c>). The node faults are the simulator's
/// (SimNode's Faults) and the model's alike.
/// </summary>
public enum FaultKind
{
    /// <summary>An upgrading node exits after receiving the secret, before sealing it.</summary>
    CrashWhileReplicating,
    /// <summary>A node, as a replication source, refuses every request.</summary>
    ReplicationRefused,
    /// <summary>Peers cannot reach a node for replication.</summary>
    PeerUnreachable,
    /// <summary>Every registration attempt of a node fails.</summary>
    RegistrationFails,
    /// <summary>Sealing the replicated secret fails with an I/O error on an upgrading node.</summary>
    SealWriteError,
    /// <summary>An upgrading node opens its control socket late (the explorer: later than -NodeTimeoutSec).</summary>
    SlowStart,
    /// <summary>A node process is killed (SIGKILL) mid-run.</summary>
    KillNode,
    /// <summary>The orchestrator's pipeline is stopped (PowerShell.Stop), then the same command runs again.</summary>
    StopOrchestrator,
    /// <summary>The operator answers No at one -Confirm prompt.</summary>
    DeclinePrompt,
    /// <summary>The first call names a wrong ORC; the operator then runs the right one.</summary>
    WrongOrc,
    /// <summary>
    /// A node the run stopped is started again by hand: chaos, every stopped node before the resume of a
    /// stopped orchestrator (the tool's own advice for a stopped node); the explorer, the node of the
    /// step (a wipe, config change or start) at its start.
    /// </summary>
    RestartedByHand,
    /// <summary>The inventory lists one node twice, under another name and a linked data dir; the operator then removes the alias.</summary>
    AliasEntry,
    /// <summary>A node's config moves its control socket out of the data dir (24.0+ common.internal_socket_path); the inventory assumes the default.</summary>
    SocketElsewhere,
    /// <summary>The key manager policy no longer lets the new enclave replicate (an update without it, in effect at once).</summary>
    PolicyDenies,
}
