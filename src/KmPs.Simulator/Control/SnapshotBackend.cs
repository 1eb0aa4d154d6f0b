using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.Core;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;

namespace KmPs.Simulator.Control;

/// <summary>
/// A node that reports a fixed status snapshot, read from a JSON file and re-read whenever the
/// file changes, so tests can move a node from "starting" to "ready" without a restart.
/// </summary>
public sealed class SnapshotBackend : IControlBackend
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly string? _path;
    private DateTime _loadedStamp;
    private SimNodeStatus _state;
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SnapshotBackend(SimNodeStatus state) => _state = state;

    public SnapshotBackend(string path)
    {
        _path = path;
        _state = Load(path);
        _loadedStamp = File.GetLastWriteTimeUtc(path);
    }

    public Task ShutdownRequested => _shutdown.Task;

    /// <summary>Beacon/consensus timing to serve; null (the default) answers Unimplemented.</summary>
    public IChainTimeBackend? ChainTime { get; set; }

    public SimNodeStatus State
    {
        get
        {
            if (_path is not null)
            {
                var stamp = File.GetLastWriteTimeUtc(_path);
                if (stamp != _loadedStamp)
                {
                    try { _state = Load(_path); _loadedStamp = stamp; }
                    catch (Exception e) when (e is IOException or JsonException) { /* mid-write; keep the last good one */ }
                }
            }
            return _state;
        }
        set => _state = value;
    }

    public static SimNodeStatus Load(string path) =>
        JsonSerializer.Deserialize<SimNodeStatus>(File.ReadAllText(path), Json)
        ?? throw new InvalidDataException($"{path} holds no node status");

    public byte[] GetStatus()
    {
        var s = State;
        if (s.GetStatusError is not null) throw new RpcException(new Grpc.Core.Status(StatusCode.Internal, s.GetStatusError));
        return StatusShapes.Encode(s);
    }

    public bool IsReady() => State.KmStatus == KmStatusWords.Ready;
    public bool IsSynced() => true;

    public async Task WaitReadyAsync(CancellationToken ct)
    {
        while (!IsReady()) await Task.Delay(50, ct).ConfigureAwait(false);
    }

    public Task RequestShutdownAsync(bool wait, CancellationToken ct)
    {
        _shutdown.TrySetResult();
        return Task.CompletedTask;
    }

    public byte[] GetKeyManagerStatus(string service, byte[] request) => KeyManagerShapes.Answer(State, service, request);

    public byte[] GetRuntime(byte[] request)
    {
        var s = State;
        var id = RegistryShapes.QueriedRuntimeId(request);
        if (!string.Equals(id, s.KmRuntimeId, StringComparison.OrdinalIgnoreCase))
            throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, "registry: no such runtime"));
        return RegistryShapes.EncodeRuntime(s.KmRuntimeId, s.Deployments, s.EffectiveSoftwareVersion);
    }
}
