namespace KmPs.Simulator.Node;

/// <summary>
/// Fault injection for scenario tests, from faults/&lt;node&gt;.json, re-read every tick so a test
/// can break a node while it runs. Immutable: a node's state snapshot holds the faults it applied
/// (change one with <c>with</c>).
/// </summary>
public sealed record Faults
{
    /// <summary>Exit the process (code 70) after receiving the secret from a peer, before sealing it.</summary>
    public bool CrashWhileReplicating { get; init; }
    /// <summary>This node, as a source, refuses every replication request.</summary>
    public bool RefuseReplication { get; init; }
    /// <summary>Delay before the control socket opens.</summary>
    public int SlowStartMs { get; init; }
    /// <summary>Every registration attempt fails (the node never becomes ready).</summary>
    public bool RegistrationFails { get; init; }
    /// <summary>Peers cannot reach this node for replication (its P2P side is down).</summary>
    public bool Unreachable { get; init; }
    /// <summary>Sealing the replicated secret to disk fails with an I/O error.</summary>
    public bool SealWriteError { get; init; }

    public static readonly Faults None = new();
}
