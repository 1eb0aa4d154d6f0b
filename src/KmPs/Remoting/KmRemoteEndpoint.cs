using System.Text.Json;
using System.Collections.Concurrent;
using System.Management.Automation;
using KmPs.Core.Bundles;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Remoting;

/// <summary>
/// The node's side of the module's remoting: what the admin host calls, through the node's
/// PowerShell session, after the module is imported there. Each operation is a <see cref="LocalNodeHost"/>
/// call on this machine. Public so a session can reach it (<c>[KmPs.Remoting.KmRemoteEndpoint]::Begin(...)</c>);
/// not meant to be called by hand. Every result and error goes back as one JSON text (see <see cref="KmWire"/>).
/// </summary>
public static class KmRemoteEndpoint
{
    /// <summary>
    /// The module build both sides must run, so results are read back as they were written and the
    /// node's machine applies the same safety checks: the version with the commit it was built from
    /// (the SDK appends it from git), since two builds of one version number can differ.
    /// </summary>
    public static string Version =>
        typeof(KmRemoteEndpoint).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
        ?? typeof(KmRemoteEndpoint).Assembly.GetName().Version?.ToString() ?? "0.0.0.0";

    /// <summary>A node sent by the admin host, as this machine sees it (no session, no host name).</summary>
    public static KmNode ReadNode(string json) => KmWire.FromJson<KmNode>(json).AsLocal();

    /// <summary>This machine's host: no current directory, so relative paths are refused.</summary>
    private static readonly LocalNodeHost Host = new(baseDirectory: null);

    /// <summary>Starts one operation; the session's script pumps it with <see cref="RemoteOperation.Next"/>.</summary>
    public static RemoteOperation Begin(string name, string arguments) => new(name, arguments);

    /// <summary>One operation run to its end without reports (a script lifecycle cannot run this way): for tests and diagnostics.</summary>
    public static string Op(string name, string arguments) => RunAsync(name, arguments, NoHostEvents.Instance, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Runs one operation with <see cref="LocalNodeHost"/>; returns {"ok": result} or {"error": {...}} as JSON text, never throws.
    /// </summary>
    internal static async Task<string> RunAsync(string name, string arguments, IHostEvents events, CancellationToken ct)
    {
        try
        {
            var a = JsonDocument.Parse(arguments).RootElement;
            object? result = name switch
            {
                "CompleteNode" => await Host.CompleteNodeAsync(KmWire.FromJson<KmNode>(Str(a, "Node")!), ct),
                "KmBundles" => (await Host.GetKmBundlesAsync(Str(a, "ConfigPath")!, ct)).ToArray(),
                "StatusCbor" => await StatusCbor(Str(a, "Socket")!, Timeout(a), ct),
                "Runtime" => await Host.GetRuntimeAsync(Str(a, "Socket")!, Str(a, "RuntimeId")!, Timeout(a), ct),
                "NodeStopped" => await Host.CheckStoppedAsync(Str(a, "Socket")!, Timeout(a), ct),
                "StatePath" => await Host.ResolveStateAsync(Read<NodeStateRef>(a), ct),
                "StateInfo" => await Host.GetStateInfoAsync(Read<NodeStateRef>(a), ct),
                "Wipe" => await Host.WipeAsync(Read<WipeRequest>(a), ct),
                "Restore" => await Host.RestoreAsync(Read<RestoreRequest>(a), ct),
                "PreviewBundle" => await Host.PreviewBundleChangeAsync(Read<BundleChangeRequest>(a), null, ct),
                "KeyManagerStatus" => await Host.GetKeyManagerStatusAsync(Str(a, "Socket")!, Str(a, "RuntimeId")!, Timeout(a), ct),
                "BeginUpload" => BeginUpload(Str(a, "ConfigPath")!, Str(a, "FileName")!, Str(a, "Digest")!),
                "AppendUpload" => AppendUpload(Str(a, "TempPath")!, Convert.FromBase64String(Str(a, "Data")!)),
                "CommitUpload" => CommitUpload(Str(a, "TempPath")!, Str(a, "Destination")!, Str(a, "Digest")!, a.GetProperty("Length").GetInt64()),
                "SetBundle" => await Host.SetBundleAsync(a.GetProperty("Request").Deserialize<BundleChangeRequest>(KmWire.Json)!, Str(a, "Path")!, events, ct),
                "Stop" => await Host.StopAsync(ReadNode(Str(a, "Node")!), a.GetProperty("UseControlApi").GetBoolean(), Timeout(a), events, ct),
                "Start" => await Host.StartAsync(ReadNode(Str(a, "Node")!), Timeout(a), events, ct),
                "ScanLog" => await Host.ScanLogAsync(Str(a, "Path")!, Str(a, "Name"), a.GetProperty("Tail").GetInt32(), ct),
                _ => throw new KmException(RemotingErrorIds.RemoteOperationUnknown, KmErrorCategory.InvalidOperation, $"Unknown remote operation '{name}'.", name),
            };
            return JsonSerializer.Serialize(new { ok = KmWire.Encode(result) });
        }
        catch (Exception e)
        {
            var km = e as KmException ?? new KmException(e is IOException ? RemotingErrorIds.RemoteIOError : e is UnauthorizedAccessException ? RemotingErrorIds.RemoteAccessDenied : RemotingErrorIds.RemoteOperationFailed,
                e is UnauthorizedAccessException ? KmErrorCategory.PermissionDenied : e is IOException ? KmErrorCategory.WriteError : KmErrorCategory.NotSpecified,
                e.Message, name, e);
            return JsonSerializer.Serialize(new
            {
                error = new { km.ErrorId, Category = km.Category.ToString(), km.Message, km.RecommendedAction, Target = km.Target?.ToString() },
            });
        }
    }

    /// <summary>The status bytes and the time of the read on this machine, as text: "&lt;unix ms&gt; &lt;base64 CBOR&gt;".</summary>
    private static async Task<string> StatusCbor(string socket, TimeSpan timeout, CancellationToken ct)
    {
        var read = await Host.GetStatusCborAsync(socket, timeout, ct).ConfigureAwait(false);
        return read.ReadAt.ToUnixTimeMilliseconds() + " " + Convert.ToBase64String(CborCodec.Encode(read.Status));
    }

    private static T Read<T>(JsonElement a) => a.Deserialize<T>(KmWire.Json) ?? throw new KmException(RemotingErrorIds.RemoteRequestInvalid, KmErrorCategory.InvalidArgument, "An empty request.", null);

    private static string? Str(JsonElement a, string name) => a.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static TimeSpan Timeout(JsonElement a) =>
        TimeSpan.FromMilliseconds(a.TryGetProperty("TimeoutMs", out var v) ? v.GetInt32() : 10_000);

    /// <summary>Where a new ORC goes on this machine: <see cref="BundleStaging.Place"/>, then a temporary file beside it.</summary>
    private static RemoteUpload BeginUpload(string configPath, string fileName, string digest)
    {
        var place = BundleStaging.Place(configPath, fileName, digest);
        if (place.Present) return new RemoteUpload { Destination = place.Destination, Present = true };
        var temp = BundleStaging.UploadPath(place.Destination);
        using (new FileStream(temp, FileMode.CreateNew, FileAccess.Write)) { }
        return new RemoteUpload { Destination = place.Destination, TempPath = temp };
    }

    private static bool AppendUpload(string tempPath, byte[] data)
    {
        CheckTemp(tempPath);
        using var f = new FileStream(tempPath, FileMode.Append, FileAccess.Write);
        f.Write(data);
        return true;
    }

    private static string CommitUpload(string tempPath, string destination, string digest, long length)
    {
        CheckTemp(tempPath);
        if (!BundleStaging.IsUploadFor(tempPath, destination))
            throw new KmException(RemotingErrorIds.InvalidUpload, KmErrorCategory.InvalidArgument, $"{tempPath} is not an upload for {destination}.", destination);
        try
        {
            BundleStaging.Commit(tempPath, destination, digest, length);
            return destination;
        }
        finally
        {
            if (File.Exists(tempPath)) File.Delete(tempPath);
        }
    }

    private static void CheckTemp(string tempPath)
    {
        if (!BundleStaging.IsUpload(tempPath))
            throw new KmException(RemotingErrorIds.InvalidUpload, KmErrorCategory.InvalidArgument, $"{tempPath} is not an upload in progress.", tempPath);
    }
}

/// <summary>One report of a running remote operation, for the session's script to write.</summary>
public sealed class RemoteEvent
{
    /// <summary>Progress, Verbose, Warning or Done (Text is then the result's JSON).</summary>
    public string Kind { get; init; } = "";
    public string? Text { get; init; }
    public HostProgress? Progress { get; init; }
}

/// <summary>
/// A running endpoint operation. Its reports queue up from its own threads; <see cref="Next"/>, called
/// by the session's script on the pipeline thread, hands them over and runs the node's lifecycle
/// scripts there (a script must run on the runspace's own thread).
/// </summary>
public sealed class RemoteOperation : IHostEvents
{
    private readonly ConcurrentQueue<object> _queue = new();
    private readonly AutoResetEvent _signal = new(false);
    private readonly CancellationTokenSource _cancel = new();
    private readonly Task<string> _result;

    internal RemoteOperation(string name, string arguments) =>
        _result = Task.Run(() => KmRemoteEndpoint.RunAsync(name, arguments, this, _cancel.Token));

    /// <summary>Waits up to <paramref name="milliseconds"/> for reports; the last one is Done with the result.</summary>
    public RemoteEvent[] Next(int milliseconds)
    {
        if (_queue.IsEmpty && !_result.IsCompleted) WaitHandle.WaitAny(new[] { _signal, ((IAsyncResult)_result).AsyncWaitHandle }, milliseconds);
        var events = new List<RemoteEvent>();
        while (_queue.TryDequeue(out var item))
        {
            if (item is RemoteEvent e) events.Add(e);
            else ((Action)item)();
        }
        if (_result.IsCompleted && _queue.IsEmpty) events.Add(new RemoteEvent { Kind = "Done", Text = _result.GetAwaiter().GetResult() });
        return events.ToArray();
    }

    /// <summary>The session's call was stopped: the operation is cancelled.</summary>
    public void Cancel() => _cancel.Cancel();

    private void Post(object item)
    {
        _queue.Enqueue(item);
        _signal.Set();
    }

    void IHostEvents.Progress(HostProgress progress) => Post(new RemoteEvent { Kind = "Progress", Progress = progress });
    void IHostEvents.Verbose(string text) => Post(new RemoteEvent { Kind = "Verbose", Text = text });
    void IHostEvents.Warning(string text) => Post(new RemoteEvent { Kind = "Warning", Text = text });

    Task IHostEvents.RunScriptAsync(string script, KmNode node, CancellationToken ct)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(new Action(() =>
        {
            try
            {
                ScriptBlock.Create(script).Invoke(node);
                done.SetResult();
            }
            catch (Exception e) when (e is RuntimeException)
            {
                done.SetException(KmPs.Core.Lifecycle.NodeLifecycle.ScriptFailed(node, script, e));
            }
            catch (Exception e) { done.SetException(e); }
        }));
        return done.Task;
    }
}
