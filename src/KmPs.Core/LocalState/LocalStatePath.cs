namespace KmPs.Core.LocalState;

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

    /// <summary>
    /// Whether the state folder is there. "Cannot see" is never "absent": a folder this user may
    /// not look into (a 0700 data dir of the oasis user) throws LocalStateUnreadable.
    /// </summary>
    public bool Exists => Probe(StorageDir) switch
    {
        Presence.Present => true,
        Presence.Absent => false,
        _ => throw Unreadable(StorageDir),
    };

    public static LocalStatePath Resolve(string? dataDir, string? runtimeId)
    {
        var id = KeyManagerRuntimeId.Validate(runtimeId);
        if (string.IsNullOrWhiteSpace(dataDir))
            throw Bad(LocalStateErrorIds.InvalidDataDir, "The data dir is empty; refusing to guess which folder to wipe.", dataDir);
        if (!Path.IsPathRooted(dataDir))
            throw Bad(LocalStateErrorIds.InvalidDataDir, $"The data dir '{dataDir}' is relative; give the absolute path of the node's data dir.", dataDir);
        // Not Path.GetFullPath: it collapses ".." as text, and after a link the kernel goes up from where the link points.
        var full = Normalize(dataDir);
        if (full == "/")
            throw Bad(LocalStateErrorIds.InvalidDataDir, $"'{dataDir}' is the file system root, not a node data dir.", dataDir);
        switch (Probe(full))
        {
            case Presence.Absent:
                throw new KmException(LocalStateErrorIds.DataDirNotFound, KmErrorCategory.ObjectNotFound, $"The data dir '{full}' does not exist.", dataDir);
            case Presence.Unreadable:
                throw new KmException(LocalStateErrorIds.DataDirUnreadable, KmErrorCategory.PermissionDenied,
                    $"The data dir '{full}' cannot be looked at by this user (permission denied); whether it holds state cannot be told.", dataDir)
                { RecommendedAction = "Run as the node's user (the owner of its data dir) or as root." };
        }
        if (!Directory.Exists(full)) throw Bad(LocalStateErrorIds.InvalidDataDir, $"'{full}' is not a folder.", dataDir);

        var real = RealPath(full);
        if (real == "/" ) throw Bad(LocalStateErrorIds.InvalidDataDir, $"'{dataDir}' resolves to the file system root.", dataDir);
        var path = new LocalStatePath(full, real, id);
        // No link below the data dir: runtimes, runtimes/<id>, the storage folder.
        foreach (var p in new[] { Path.Combine(real, "runtimes"), path.RuntimeDir, path.StorageDir })
        {
            var presence = Probe(p);
            if (presence == Presence.Unreadable) throw Unreadable(p);
            if (presence == Presence.Absent) break; // nothing below an absent folder
            var info = new DirectoryInfo(p);
            if (info.LinkTarget is not null)
                throw new KmException(LocalStateErrorIds.LinkOutOfDataDir, KmErrorCategory.SecurityError,
                    $"'{p}' is a link (to '{info.LinkTarget}'); the wipe only removes real folders inside the data dir.", p)
                {
                    RecommendedAction = "Replace the link by the real folder, or wipe by hand after checking where it points.",
                };
            if (!info.Attributes.HasFlag(FileAttributes.Directory))
                throw new KmException(LocalStateErrorIds.LocalStateNotAFolder, KmErrorCategory.InvalidData, $"'{p}' is not a folder.", p);
        }
        if (MountPoints.AtOrBelow(path.StorageDir) is { } mount)
            throw new KmException(LocalStateErrorIds.LocalStateMountPoint, KmErrorCategory.SecurityError,
                $"'{mount}' is a mount point at or below the state folder {path.StorageDir}: moving it aside would fail across file systems, and deleting would reach into the mounted file system.", mount)
            {
                RecommendedAction = "Unmount it (or wipe by hand after checking what is mounted there); the state folder must be a plain folder of the data dir's file system.",
            };
        return path;
    }

    /// <summary>What a look at one path found: there, not there, or not visible to this user.</summary>
    public enum Presence { Absent, Present, Unreadable }

    /// <summary>
    /// Looks at the path itself (lstat: a link is present whatever it points at). Directory.Exists
    /// answers false both for "absent" and for "permission denied"; this tells them apart.
    /// </summary>
    public static Presence Probe(string path)
    {
        try
        {
            File.GetAttributes(path);
            return Presence.Present;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return Presence.Absent; }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return Presence.Unreadable; }
    }

    /// <summary>The advice for anything this user may not look into in a node's data dir.</summary>
    public const string RunAsNodeUser = "Run as the node's user (the owner of its data dir, e.g. oasis) or as root; check the inventory's DataDir and UserName.";

    internal static KmException Unreadable(string path) =>
        new(LocalStateErrorIds.LocalStateUnreadable, KmErrorCategory.PermissionDenied,
            $"Whether '{path}' exists cannot be seen by this user (permission denied); a state this user cannot see is not absent.", path)
        {
            RecommendedAction = RunAsNodeUser,
        };

    /// <summary>
    /// Backups made by <see cref="LocalStateWiper"/>, the one moved aside last first: by the sequence
    /// number the wiper recorded beside each (a clock stepped back cannot reorder them), then by the
    /// recorded time; backups without a record (older versions of this module) after those, newest
    /// written first, with the name as the tie-break.
    /// </summary>
    public IReadOnlyList<string> Backups() => BackupInfos().Select(b => b.Path).ToList();

    /// <summary>Backups with what was recorded about them, in <see cref="Backups"/> order.</summary>
    public IReadOnlyList<LocalStateBackup> BackupInfos() =>
        Directory.Exists(RuntimeDir)
            ? Directory.EnumerateDirectories(RuntimeDir, StorageName + BackupInfix + "*")
                .Where(d => new DirectoryInfo(d).LinkTarget is null)
                .Select(LocalStateBackup.Read)
                .OrderByDescending(b => b.Sequence)
                .ThenByDescending(b => b.MovedAt ?? DateTimeOffset.MinValue)
                .ThenByDescending(b => Directory.GetLastWriteTimeUtc(b.Path))
                .ThenByDescending(b => b.Path, StringComparer.Ordinal)
                .ToList()
            : Array.Empty<LocalStateBackup>();

    /// <summary>
    /// An absolute path without repeated separators, "." components or a trailing separator; ".."
    /// is kept, since what it means depends on the links before it (see <see cref="RealPath"/>).
    /// </summary>
    public static string Normalize(string absolutePath) =>
        "/" + string.Join('/', absolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != "."));

    /// <summary>
    /// The path with every link resolved, component by component as the kernel does (realpath(3)):
    /// ".." applies to the folder reached so far (after links were followed), a link's target is
    /// resolved against the folder holding the link, and 40 links in all (ELOOP's limit) end it.
    /// </summary>
    internal static string RealPath(string path)
    {
        const int maxLinks = 40; // Linux MAXSYMLINKS
        var pending = new LinkedList<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var resolved = new List<string>();
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.First!.Value;
            pending.RemoveFirst();
            if (part == ".") continue;
            if (part == "..")
            {
                if (resolved.Count > 0) resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var next = "/" + string.Join('/', resolved.Append(part));
            if (new FileInfo(next).LinkTarget is { } target)
            {
                if (++links > maxLinks) throw Bad(LocalStateErrorIds.InvalidDataDir, $"too many links resolving '{path}' (more than {maxLinks})", path);
                if (target.StartsWith('/')) resolved.Clear();
                foreach (var t in Enumerable.Reverse(target.Split('/', StringSplitOptions.RemoveEmptyEntries))) pending.AddFirst(t);
                continue;
            }
            resolved.Add(part);
        }
        return "/" + string.Join('/', resolved);
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
            throw new KmException(LocalStateErrorIds.NotKeyManagerRuntime, KmErrorCategory.InvalidArgument,
                $"The runtime id '{runtimeId}' is not a key manager runtime (key manager ids start with 4, bit 62 set).", runtimeId);
        return id;
    }
}
