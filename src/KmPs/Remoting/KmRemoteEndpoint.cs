using System.Text.Json;
using KmPs.Bundles;
using KmPs.Cmdlets;
using KmPs.Config;
using KmPs.Control;
using KmPs.Inventory;
using KmPs.LocalState;
using KmPs.Orchestration;

namespace KmPs.Remoting;

/// <summary>
/// The node's side of the module's remoting: what the admin host calls, through the node's
/// PowerShell session, after the module is imported there. Public so a session can reach it
/// (<c>[KmPs.Remoting.KmRemoteEndpoint]::Op(...)</c>); not meant to be called by hand.
/// Every result and error goes back as one JSON text (see <see cref="KmWire"/>).
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

    /// <summary>A command's result as wire text.</summary>
    public static string Wire(object? value) => KmWire.Encode(value);

    /// <summary>A node sent by the admin host, as this machine sees it (no session, no host name).</summary>
    public static KmNode ReadNode(string json) => KmWire.FromJson<KmNode>(json).AsLocal();

    /// <summary>Runs one operation; returns {"ok": result} or {"error": {...}} as JSON text, never throws.</summary>
    public static string Op(string name, string arguments)
    {
        try
        {
            var a = JsonDocument.Parse(arguments).RootElement;
            object? result = name switch
            {
                "CompleteNode" => CompleteNode(KmWire.FromJson<KmNode>(Str(a, "Node")!)),
                "KmBundles" => LocalNodeReader.KmBundlesOf(Str(a, "ConfigPath")!).ToArray(),
                "Status" => Wait(ControlClient.For(SocketAddress.ParseAbsolute(Str(a, "Socket"))).GetStatusAsync(Timeout(a), CancellationToken.None)),
                "Runtime" => Wait(ControlClient.For(SocketAddress.ParseAbsolute(Str(a, "Socket")))
                    .GetRuntimeAsync(Convert.FromHexString(Str(a, "RuntimeId")!), 0, Timeout(a), CancellationToken.None)),
                "KeyManagerStatus" => Wait(KeyManagerClient.For(SocketAddress.ParseAbsolute(Str(a, "Socket")))
                    .GetStatusAnswerAsync(LocalState.KeyManagerRuntimeId.Validate(Str(a, "RuntimeId")!), Timeout(a), CancellationToken.None)),
                "NodeStopped" => Wait(WipeGuard.CheckStoppedAsync(SocketAddress.ParseAbsolute(Str(a, "Socket")), Timeout(a), CancellationToken.None)),
                "StatePath" => StatePath(Str(a, "DataDir"), Str(a, "RuntimeId"), Str(a, "Socket"), Str(a, "ConfigPath")),
                "Wipe" => Wipe(a),
                "StateInfo" => LocalStateInfo.Of(LocalStatePath.Resolve(AbsoluteDataDir(Str(a, "DataDir")), Str(a, "RuntimeId")), Str(a, "Name") ?? ""),
                "BeginUpload" => BeginUpload(Str(a, "ConfigPath")!, Str(a, "FileName")!, Str(a, "Digest")!),
                "AppendUpload" => AppendUpload(Str(a, "TempPath")!, Convert.FromBase64String(Str(a, "Data")!)),
                "CommitUpload" => CommitUpload(Str(a, "TempPath")!, Str(a, "Destination")!, Str(a, "Digest")!, a.GetProperty("Length").GetInt64()),
                _ => throw new KmException("RemoteOperationUnknown", KmErrorCategory.InvalidOperation, $"Unknown remote operation '{name}'.", name),
            };
            return JsonSerializer.Serialize(new { ok = KmWire.Encode(result) });
        }
        catch (Exception e)
        {
            var km = e as KmException ?? new KmException(e is IOException ? "RemoteIOError" : e is UnauthorizedAccessException ? "RemoteAccessDenied" : "RemoteOperationFailed",
                e is UnauthorizedAccessException ? KmErrorCategory.PermissionDenied : e is IOException ? KmErrorCategory.WriteError : KmErrorCategory.NotSpecified,
                e.Message, name, e);
            return JsonSerializer.Serialize(new
            {
                error = new { km.ErrorId, Category = km.Category.ToString(), km.Message, km.RecommendedAction, Target = km.Target?.ToString() },
            });
        }
    }

    private static string? Str(JsonElement a, string name) => a.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static TimeSpan Timeout(JsonElement a) =>
        TimeSpan.FromMilliseconds(a.TryGetProperty("TimeoutMs", out var v) ? v.GetInt32() : 10_000);

    private static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static KmNode CompleteNode(KmNode node)
    {
        var local = node.AsLocal();
        return NodeConfigFill.Complete(local.Validate());
    }

    private static RemoteStatePath StatePath(string? dataDir, string? runtimeId, string? socket, string? configPath)
    {
        var p = LocalStatePath.Resolve(AbsoluteDataDir(dataDir), runtimeId);
        if (!string.IsNullOrWhiteSpace(socket)) SocketAddress.ParseAbsolute(socket);
        if (!string.IsNullOrWhiteSpace(configPath) && !Path.IsPathRooted(configPath))
            throw new KmException("InvalidPath", KmErrorCategory.InvalidArgument, $"The config path '{configPath}' must be absolute on the node's machine.", configPath);
        var node = NodeControlSocket.Resolve(socket, p.DataDir, configPath, p.DataDir);
        return new RemoteStatePath { DataDir = p.DataDir, StorageDir = p.StorageDir, Exists = p.Exists, Socket = node.ToString() };
    }

    /// <summary>
    /// The wipe on the node's machine. The staying peers were verified by the admin host (they may
    /// be on other machines) right before; here, in main's order: the node is checked stopped, then
    /// the path is resolved, then the state is moved (holding its DB lock). ExpectAbsent: the admin
    /// host found no state and asked nobody; state that appeared since is refused, not wiped.
    /// </summary>
    private static LocalStateRecord Wipe(JsonElement a)
    {
        var dataDir = AbsoluteDataDir(Str(a, "DataDir"));
        var runtimeId = Str(a, "RuntimeId");
        var name = Str(a, "Name") ?? dataDir;
        if (a.TryGetProperty("ExpectAbsent", out var e) && e.GetBoolean())
        {
            return LocalStateWiper.NothingToWipe(LocalStatePath.Resolve(dataDir, runtimeId), name); // the same proof as locally
        }
        var socket = Str(a, "Socket");
        var node = SocketAddress.ParseAbsolute(string.IsNullOrWhiteSpace(socket) ? dataDir : socket);
        var stop = Wait(WipeGuard.CheckStoppedAsync(node, Timeout(a), CancellationToken.None));
        if (!stop.Stopped)
            throw new KmException("WipeRefused", KmErrorCategory.InvalidOperation, $"Refusing to wipe: {stop.Problem}.", node.ToString())
            {
                RecommendedAction = "Stop the node, and name staying peers that are ready with one checksum in -RequirePeer.",
            };
        var path = LocalStatePath.Resolve(dataDir, runtimeId);
        return a.TryGetProperty("Delete", out var d) && d.GetBoolean()
            ? LocalStateWiper.Delete(path, name)
            : LocalStateWiper.MoveAside(path, name, DateTimeOffset.UtcNow);
    }

    private static string AbsoluteDataDir(string? dataDir) =>
        dataDir is not null && dataDir.StartsWith("/", StringComparison.Ordinal)
            ? dataDir
            : throw new KmException("InvalidDataDir", KmErrorCategory.InvalidArgument,
                $"The data dir '{dataDir}' is not an absolute path: on the node's machine there is no current directory to resolve it against.", dataDir);

    /// <summary>Where a new ORC goes on this machine: <see cref="BundleStaging.Place"/>, then a temporary file beside it.</summary>
    private static RemoteUpload BeginUpload(string configPath, string fileName, string digest)
    {
        var place = BundleStaging.Place(configPath, fileName, digest);
        if (place.Present) return new RemoteUpload { Destination = place.Destination, Present = true };
        var temp = Path.Combine(Path.GetDirectoryName(place.Destination)!, $".{fileName}.upload-{Guid.NewGuid():N}");
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
        if (!Path.GetFileName(tempPath).StartsWith('.') || !tempPath.Contains(".upload-", StringComparison.Ordinal))
            throw new KmException("InvalidUpload", KmErrorCategory.InvalidArgument, $"{tempPath} is not an upload in progress.", tempPath);
    }
}
