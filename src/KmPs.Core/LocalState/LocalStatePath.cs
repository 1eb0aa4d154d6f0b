namespace KmPs.LocalState;

/// <summary>
/// Resolves the one folder a key manager wipe may touch:
/// <c>&lt;DataDir&gt;/runtimes/&lt;64-hex KM runtime id&gt;/worker-local-storage.badger.db</c> (invariant 3).
/// The data dir itself may be reached through a link (/node/data → /mnt/disk/data is common), but
/// nothing below it may be a link: a link could send the wipe out of the data dir.
/// Empty, relative or root paths never widen what is removed; they are refused.
/// </summary>
public sealed class LocalStatePath
{
    public const string StorageName = "worker-local-storage.badger.db";
    public const string BackupInfix = ".backup-";

    /// <summary>The data dir as given, normalised.</summary>
    public string DataDir { get; }
    /// <summary>The data dir with links resolved.</summary>
    public string RealDataDir { get; }
    public string RuntimeId { get; }
    /// <summary><c>&lt;RealDataDir&gt;/runtimes/&lt;id&gt;</c></summary>
    public string RuntimeDir { get; }
    /// <summary><c>&lt;RuntimeDir&gt;/worker-local-storage.badger.db</c></summary>
    public string StorageDir { get; }

    private LocalStatePath(string dataDir, string realDataDir, string runtimeId)
    {
        DataDir = dataDir;
        RealDataDir = realDataDir;
        RuntimeId = runtimeId;
        RuntimeDir = Path.Combine(realDataDir, "runtimes", runtimeId);
        StorageDir = Path.Combine(RuntimeDir, StorageName);
    }

    public bool Exists => Directory.Exists(StorageDir);

    public static LocalStatePath Resolve(string? dataDir, string? runtimeId)
    {
        var id = KeyManagerRuntimeId.Validate(runtimeId);
        if (string.IsNullOrWhiteSpace(dataDir))
            throw Bad("InvalidDataDir", "The data dir is empty; refusing to guess which folder to wipe.", dataDir);
        if (!Path.IsPathRooted(dataDir))
            throw Bad("InvalidDataDir", $"The data dir '{dataDir}' is relative; give the absolute path of the node's data dir.", dataDir);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDir));
        if (full.Length <= 1 || full == Path.GetPathRoot(full)?.TrimEnd('/'))
            throw Bad("InvalidDataDir", $"'{dataDir}' is the file system root, not a node data dir.", dataDir);
        if (!Directory.Exists(full))
            throw new KmException("DataDirNotFound", KmErrorCategory.ObjectNotFound, $"The data dir '{full}' does not exist.", dataDir);

        var real = RealPath(full);
        if (real == "/" ) throw Bad("InvalidDataDir", $"'{dataDir}' resolves to the file system root.", dataDir);
        var path = new LocalStatePath(full, real, id);
        // No link below the data dir: runtimes, runtimes/<id>, the storage folder.
        foreach (var p in new[] { Path.Combine(real, "runtimes"), path.RuntimeDir, path.StorageDir })
        {
            var info = new DirectoryInfo(p);
            if (info.Exists || info.LinkTarget is not null)
            {
                if (info.LinkTarget is not null)
                    throw new KmException("LinkOutOfDataDir", KmErrorCategory.SecurityError,
                        $"'{p}' is a link (to '{info.LinkTarget}'); the wipe only removes real folders inside the data dir.", p)
                    {
                        RecommendedAction = "Replace the link by the real folder, or wipe by hand after checking where it points.",
                    };
                if (!info.Attributes.HasFlag(FileAttributes.Directory))
                    throw new KmException("LocalStateNotAFolder", KmErrorCategory.InvalidData, $"'{p}' is not a folder.", p);
            }
        }
        return path;
    }

    /// <summary>Backups made by <see cref="LocalStateWiper"/>, newest first.</summary>
    public IReadOnlyList<string> Backups() =>
        Directory.Exists(RuntimeDir)
            ? Directory.EnumerateDirectories(RuntimeDir, StorageName + BackupInfix + "*")
                .Where(d => new DirectoryInfo(d).LinkTarget is null)
                .OrderByDescending(d => d, StringComparer.Ordinal).ToList()
            : Array.Empty<string>();

    /// <summary>The path with every link resolved (realpath), component by component.</summary>
    internal static string RealPath(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        var hops = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            var info = new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++hops > 40) throw Bad("InvalidDataDir", $"too many links resolving '{path}'", path);
                var resolved = Path.GetFullPath(target, current);
                var rest = string.Join('/', parts.Skip(i + 1));
                return RealPath(rest.Length == 0 ? resolved : Path.Combine(resolved, rest));
            }
            current = next;
        }
        return current;
    }

    private static KmException Bad(string id, string message, object? target) =>
        new(id, KmErrorCategory.InvalidArgument, message, target);
}

/// <summary>Checks that a runtime id is 64 hex characters with the key manager flag (bit 62) set.</summary>
public static class KeyManagerRuntimeId
{
    public static string Validate(string? runtimeId)
    {
        var id = Bundles.RuntimeId.Normalize(runtimeId, "key manager runtime id");
        if (!Bundles.RuntimeId.IsKeyManager(id))
            throw new KmException("NotKeyManagerRuntime", KmErrorCategory.InvalidArgument,
                $"The runtime id '{runtimeId}' is not a key manager runtime (key manager ids start with 4, bit 62 set).", runtimeId);
        return id;
    }
}
