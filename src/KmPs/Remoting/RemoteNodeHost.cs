using System.Management.Automation.Runspaces;
using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Remoting;

/// <summary>
/// A node on another machine: each operation is sent through the node's session to the module's
/// endpoint there, which runs it with <see cref="LocalNodeHost"/>, so every rule is applied on the
/// node's machine by the same code. Only the ORC copy is this side's work: its bytes are here.
/// </summary>
public sealed class RemoteNodeHost : INodeHost
{
    private readonly PSSession _session;
    private readonly string _node;

    /// <param name="node">The node's name, for errors (a lost session names the node).</param>
    public RemoteNodeHost(PSSession session, string node)
    {
        _session = session;
        _node = node;
    }

    /// <summary>Bytes per remote call when copying an ORC to the node's machine.</summary>
    internal const int ChunkSize = 1 << 20;

    public string Machine => KmRemoting.Describe(_session);

    /// <summary>Paths on another machine: nothing here can resolve a relative one.</summary>
    public SocketAddress Address(string socket) => SocketAddress.ParseAbsolute(socket);

    private Task<T> Op<T>(string op, object arguments, CancellationToken ct, IHostEvents? events = null) =>
        KmRemoting.OpAsync<T>(_session, _node, op, arguments, ct, events);

    private static int Ms(TimeSpan t) => (int)Math.Min(int.MaxValue, t.TotalMilliseconds);

    /// <summary>Read there; the time of the read is the node machine's (as every status's time was before it was sent).</summary>
    public async Task<StatusRead> GetStatusCborAsync(string socket, TimeSpan timeout, CancellationToken ct)
    {
        Address(socket);
        var answer = await Op<string>("StatusCbor", new { Socket = socket, TimeoutMs = Ms(timeout) }, ct).ConfigureAwait(false);
        var space = answer.IndexOf(' ');
        if (space < 0 || !long.TryParse(answer.AsSpan(0, space), out var ms))
            throw new KmException(RemotingErrorIds.RemoteResultInvalid, KmErrorCategory.InvalidResult, $"Node '{_node}': {Machine} sent a status the module did not send.", _node);
        return new StatusRead(CborCodec.Decode(Convert.FromBase64String(answer[(space + 1)..])), DateTimeOffset.FromUnixTimeMilliseconds(ms));
    }

    public Task<RegistryRuntime> GetRuntimeAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        Op<RegistryRuntime>("Runtime", new { Socket = socket, RuntimeId = runtimeId, TimeoutMs = Ms(timeout) }, ct);

    /// <summary>Read there; the raw answer crosses and is parsed here.</summary>
    public Task<KmStatusAnswer> GetKeyManagerStatusAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        Op<KmStatusAnswer>("KeyManagerStatus", new { Socket = socket, RuntimeId = runtimeId, TimeoutMs = Ms(timeout) }, ct);

    public async Task<IReadOnlyList<string>> GetKmBundlesAsync(string configPath, CancellationToken ct) =>
        await Op<string[]>("KmBundles", new { ConfigPath = configPath }, ct).ConfigureAwait(false);

    /// <summary>Completed on its machine from its config there; the admin host's settings (host, session, user) are kept.</summary>
    public async Task<KmNode> CompleteNodeAsync(KmNode node, CancellationToken ct)
    {
        var done = await Op<KmNode>("CompleteNode", new { Node = KmWire.ToJson(node.AsLocal()) }, ct).ConfigureAwait(false);
        node.Socket = done.Socket;
        node.DataDir = done.DataDir;
        node.ConfigPath = done.ConfigPath;
        node.RuntimeId = done.RuntimeId;
        node.LogPath = done.LogPath;
        return node;
    }

    public Task<NodeStatePath> ResolveStateAsync(NodeStateRef node, CancellationToken ct) => Op<NodeStatePath>("StatePath", node, ct);

    public async Task<LocalStateInfo> GetStateInfoAsync(NodeStateRef node, CancellationToken ct)
    {
        var info = await Op<LocalStateInfo>("StateInfo", node, ct).ConfigureAwait(false);
        info.HostName = Machine;
        return info;
    }

    public Task<NodeStopCheck> CheckStoppedAsync(string socket, TimeSpan timeout, CancellationToken ct) =>
        Op<NodeStopCheck>("NodeStopped", new { Socket = socket, TimeoutMs = Ms(timeout) }, ct);

    public Task<LocalStateRecord> WipeAsync(WipeRequest request, CancellationToken ct) => Op<LocalStateRecord>("Wipe", request, ct);

    public Task<LocalStateRecord> RestoreAsync(RestoreRequest request, CancellationToken ct) => Op<LocalStateRecord>("Restore", request, ct);

    /// <summary>Checked there; the ORC is here, so the full edit is tried there only once its copy is there.</summary>
    public Task<BundleChangePreview> PreviewBundleChangeAsync(BundleChangeRequest request, string? localOrcPath, CancellationToken ct) =>
        Op<BundleChangePreview>("PreviewBundle", request, ct);

    /// <summary>Copies the ORC in chunks to a temporary file beside the node's bundle there (verified by its digest there), then the config is edited there.</summary>
    public async Task<KmBundleChange> SetBundleAsync(BundleChangeRequest request, string localOrcPath, IHostEvents events, CancellationToken ct)
    {
        var upload = await Op<RemoteUpload>("BeginUpload", new { request.ConfigPath, request.FileName, request.Digest }, ct).ConfigureAwait(false);
        var staged = upload.Destination;
        if (upload.Present) events.Verbose($"{request.Name}: {upload.Destination} on {Machine} already holds this ORC (SHA-512/256 {request.Digest[..16]}…).");
        else
        {
            var activity = $"Copying {request.FileName} to {Machine}";
            await using (var f = File.OpenRead(localOrcPath))
            {
                var buffer = new byte[ChunkSize];
                long sent = 0;
                for (int n; (n = await f.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0; sent += n)
                {
                    await Op<bool>("AppendUpload", new { upload.TempPath, Data = Convert.ToBase64String(buffer, 0, n) }, ct).ConfigureAwait(false);
                    events.Progress(new HostProgress(4, activity, $"{sent + n} of {request.Length} bytes", (int)(100 * (sent + n) / Math.Max(1, request.Length))));
                }
            }
            events.Progress(new HostProgress(4, activity, "done", Completed: true));
            staged = await Op<string>("CommitUpload", new { upload.TempPath, upload.Destination, request.Digest, request.Length }, ct).ConfigureAwait(false);
            events.Verbose($"{request.Name}: copied {localOrcPath} to {staged} on {Machine} (SHA-512/256 {request.Digest[..16]}… verified there).");
        }
        return await Op<KmBundleChange>("SetBundle", new { Request = request, Path = staged }, ct).ConfigureAwait(false);
    }

    public Task<KmLifecycleResult> StopAsync(KmNode node, bool useControlApi, TimeSpan timeout, IHostEvents events, CancellationToken ct) =>
        Op<KmLifecycleResult>("Stop", new { Node = KmWire.ToJson(node.AsLocal()), UseControlApi = useControlApi, TimeoutMs = Ms(timeout) }, ct, events);

    public Task<KmLifecycleResult> StartAsync(KmNode node, TimeSpan timeout, IHostEvents events, CancellationToken ct) =>
        Op<KmLifecycleResult>("Start", new { Node = KmWire.ToJson(node.AsLocal()), TimeoutMs = Ms(timeout) }, ct, events);

    public Task<LogScan> ScanLogAsync(string path, string? name, int tail, CancellationToken ct) =>
        Op<LogScan>("ScanLog", new { Path = path, Name = name, Tail = tail }, ct);
}
