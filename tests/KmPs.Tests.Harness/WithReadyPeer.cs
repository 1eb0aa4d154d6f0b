using KmPs.Core.Status;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>
/// A test class with one ready 24+ node beside it in this process (<see cref="SnapshotNode"/>): the staying
/// peer a wipe needs, started before each test and stopped after it.
/// </summary>
public abstract class WithReadyPeer : IAsyncLifetime
{
    protected SnapshotNode Peer { get; private set; } = null!;

    public async Task InitializeAsync() => Peer = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24, "peer"));

    public async Task DisposeAsync() => await Peer.DisposeAsync();

    /// <summary>$dd, $rid and $peers for a script that wipes <paramref name="d"/> with the peer staying.</summary>
    protected Dictionary<string, object?> Vars(FakeDataDir d) =>
        new() { ["dd"] = d.DataDir, ["rid"] = d.RuntimeId, ["peers"] = new[] { Peer.Address } };
}
