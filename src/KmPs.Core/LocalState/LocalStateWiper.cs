using System.Globalization;

namespace KmPs.LocalState;

/// <summary>What Clear-KmLocalState / Restore-KmLocalState did, for the pipeline and the journal.</summary>
public sealed class LocalStateRecord
{
    public string Node { get; init; } = "";
    public string DataDir { get; init; } = "";
    public string RuntimeId { get; init; } = "";
    public string Path { get; init; } = "";
    /// <summary>MovedAside, Deleted, Restored or NothingToWipe.</summary>
    public string Action { get; init; } = "";
    public string? BackupPath { get; init; }
    public string[] VerifiedPeers { get; init; } = Array.Empty<string>();
    public string? PeerChecksum { get; init; }
    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>
/// The wipe itself, after <see cref="WipeGuard"/> said yes. By default the state folder is renamed
/// (same folder, same file system, atomic, owner and mode kept) to a timestamped backup beside it,
/// so a failed upgrade can roll back to the old ORC on the same CPU (invariant 4).
/// </summary>
public static class LocalStateWiper
{
    public static string BackupName(DateTimeOffset now) =>
        LocalStatePath.StorageName + LocalStatePath.BackupInfix + now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    public const string LockFileName = "LOCK";

    /// <summary>
    /// Badger holds an exclusive flock on &lt;db&gt;/LOCK while the database is open, so a running
    /// node's state is locked whatever its socket says (invariant 1, proven independently of the
    /// control API). .NET's FileShare.None takes the same flock(LOCK_EX|LOCK_NB); the handle is held
    /// across the rename so the node cannot open the database in between.
    /// </summary>
    public static IDisposable? LockState(string storageDir)
    {
        var lockFile = System.IO.Path.Combine(storageDir, LockFileName);
        if (!File.Exists(lockFile)) return null;
        try
        {
            return new FileStream(lockFile, FileMode.Open, FileAccess.Read, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new KmException("LocalStateInUse", KmErrorCategory.ResourceUnavailable,
                $"{storageDir} is locked by a running process (the database's LOCK): the node is still running, whatever its control socket says.", storageDir, e)
            {
                RecommendedAction = "Stop the node (and any process that opens its data dir) and try again.",
            };
        }
    }

    public static LocalStateRecord MoveAside(LocalStatePath p, string node, DateTimeOffset now)
    {
        if (!p.Exists) return Record(p, node, "NothingToWipe", null);
        using var held = LockState(p.StorageDir);
        var backup = System.IO.Path.Combine(p.RuntimeDir, BackupName(now));
        for (var i = 1; Directory.Exists(backup) || File.Exists(backup); i++)
            backup = System.IO.Path.Combine(p.RuntimeDir, BackupName(now) + "-" + i);
        Directory.Move(p.StorageDir, backup);
        return Record(p, node, "MovedAside", backup);
    }

    public static LocalStateRecord Delete(LocalStatePath p, string node)
    {
        if (!p.Exists) return Record(p, node, "NothingToWipe", null);
        using var held = LockState(p.StorageDir);
        // Directory.Delete removes links inside the folder without following them.
        Directory.Delete(p.StorageDir, recursive: true);
        return Record(p, node, "Deleted", null);
    }

    /// <summary>Puts a backup back; refuses while a state folder exists (that would be overwritten).</summary>
    public static LocalStateRecord Restore(LocalStatePath p, string node, string? backup)
    {
        if (p.Exists)
            throw new KmException("LocalStateExists", KmErrorCategory.ResourceExists,
                $"{p.StorageDir} exists; restoring would replace it. Clear it first (Clear-KmLocalState) if it is the state to discard.", p.StorageDir);
        var backups = p.Backups();
        if (backups.Count == 0)
            throw new KmException("NoLocalStateBackup", KmErrorCategory.ObjectNotFound, $"No backup of the local state in {p.RuntimeDir}.", p.RuntimeDir);
        string chosen;
        if (string.IsNullOrEmpty(backup)) chosen = backups[0];
        else
        {
            var full = System.IO.Path.IsPathRooted(backup) ? System.IO.Path.GetFullPath(backup) : System.IO.Path.Combine(p.RuntimeDir, backup);
            chosen = backups.FirstOrDefault(b => b == full)
                     ?? throw new KmException("NoLocalStateBackup", KmErrorCategory.ObjectNotFound,
                         $"'{backup}' is not a local state backup of {p.RuntimeDir} (found: {string.Join(", ", backups.Select(System.IO.Path.GetFileName))}).", backup);
        }
        using var held = LockState(chosen);
        Directory.Move(chosen, p.StorageDir);
        return Record(p, node, "Restored", chosen);
    }

    private static LocalStateRecord Record(LocalStatePath p, string node, string action, string? backup) => new()
    {
        Node = node, DataDir = p.DataDir, RuntimeId = p.RuntimeId, Path = p.StorageDir, Action = action, BackupPath = backup,
    };
}
