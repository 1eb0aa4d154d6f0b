using System.Globalization;
using KmPs.Core.Files;

namespace KmPs.Core.LocalState;

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

    /// <summary>Badger's advisory pid file inside an open database (not its lock: see <see cref="DirectoryLock"/>).</summary>
    public const string PidFileName = "LOCK";

    /// <summary>
    /// Takes Badger's own lock on the database folder (flock on the directory), so a running node's
    /// state is refused whatever its socket says (invariant 1, proven independently of the control
    /// API: a node whose socket is elsewhere still holds it). Held across the rename so the node
    /// cannot open the database in between.
    /// </summary>
    public static IDisposable? LockState(string storageDir)
    {
        if (!DirectoryLock.Supported) return null;
        if (DirectoryLock.TryAcquire(storageDir, out var held, out var pid)) return held;
        throw new KmException(LocalStateErrorIds.LocalStateInUse, KmErrorCategory.ResourceUnavailable,
            $"{storageDir} is open in another process{(pid is null ? "" : $" (pid {pid}, from badger's LOCK file)")}: the database is locked, so the node is still running, whatever its control socket says.", storageDir)
        {
            RecommendedAction = "Stop the node (and any process that opens its data dir, such as a badger tool) and try again.",
        };
    }

    /// <summary>The node's own key, in the data dir of every oasis-node version (go/common/identity: LoadOrGenerate at first start).</summary>
    public const string NodeIdentityFile = "identity.pem";

    /// <summary>
    /// "Nothing to wipe", only once proven: the state folder is still absent (state that appeared
    /// since it was looked at is refused, never moved unchecked), and the data dir is a node's (it
    /// holds the node's identity key). A wrong DataDir in the inventory has no state either, and
    /// recording that as a done wipe would restart the node on the new ORC over its old sealed state.
    /// </summary>
    public static LocalStateRecord NothingToWipe(LocalStatePath p, string node)
    {
        if (p.Exists)
            throw new KmException(LocalStateErrorIds.LocalStateAppeared, KmErrorCategory.InvalidOperation,
                $"{p.StorageDir} appeared after it was found absent; nothing was wiped.", p.StorageDir)
            {
                RecommendedAction = "Run the command again: the staying peers are checked and you are asked before the state is moved.",
            };
        var identity = System.IO.Path.Combine(p.RealDataDir, NodeIdentityFile);
        switch (LocalStatePath.Probe(identity))
        {
            case LocalStatePath.Presence.Unreadable: throw LocalStatePath.Unreadable(identity);
            case LocalStatePath.Presence.Absent:
                throw new KmException(LocalStateErrorIds.DataDirNotNode, KmErrorCategory.InvalidData,
                    $"{p.DataDir} holds no key manager state and no node identity ({NodeIdentityFile}): it does not look like this node's data dir, so \"nothing to wipe\" cannot be trusted.", p.DataDir)
                {
                    RecommendedAction = "Check the node's DataDir (its config's common.data_dir, or the --datadir of its command line for 22.2).",
                };
        }
        return Record(p, node, "NothingToWipe", null);
    }

    public static LocalStateRecord MoveAside(LocalStatePath p, string node, DateTimeOffset now)
    {
        if (!p.Exists) return NothingToWipe(p, node);
        using var held = LockState(p.StorageDir);
        var backup = System.IO.Path.Combine(p.RuntimeDir, BackupName(now));
        for (var i = 1; Directory.Exists(backup) || File.Exists(backup); i++)
            backup = System.IO.Path.Combine(p.RuntimeDir, BackupName(now) + "-" + i);
        var sequence = p.BackupInfos().Select(b => b.Sequence).DefaultIfEmpty(0).Max() + 1;
        Directory.Move(p.StorageDir, backup);
        LocalStateBackup.Write(backup, sequence, now, node, p.StorageDir);
        return Record(p, node, "MovedAside", backup);
    }

    public static LocalStateRecord Delete(LocalStatePath p, string node)
    {
        if (!p.Exists) return NothingToWipe(p, node);
        using var held = LockState(p.StorageDir);
        // Directory.Delete removes links inside the folder without following them.
        Directory.Delete(p.StorageDir, recursive: true);
        return Record(p, node, "Deleted", null);
    }

    /// <summary>Puts a backup back; refuses while a state folder exists (that would be overwritten).</summary>
    public static LocalStateRecord Restore(LocalStatePath p, string node, string? backup)
    {
        if (p.Exists)
            throw new KmException(LocalStateErrorIds.LocalStateExists, KmErrorCategory.ResourceExists,
                $"{p.StorageDir} exists; restoring would replace it. Clear it first (Clear-KmLocalState) if it is the state to discard.", p.StorageDir);
        var backups = p.Backups();
        if (backups.Count == 0)
            throw new KmException(LocalStateErrorIds.NoLocalStateBackup, KmErrorCategory.ObjectNotFound, $"No backup of the local state in {p.RuntimeDir}.", p.RuntimeDir);
        string chosen;
        if (string.IsNullOrEmpty(backup)) chosen = backups[0];
        else
        {
            var full = System.IO.Path.IsPathRooted(backup) ? System.IO.Path.GetFullPath(backup) : System.IO.Path.Combine(p.RuntimeDir, backup);
            chosen = backups.FirstOrDefault(b => b == full)
                     ?? throw new KmException(LocalStateErrorIds.NoLocalStateBackup, KmErrorCategory.ObjectNotFound,
                         $"'{backup}' is not a local state backup of {p.RuntimeDir} (found: {string.Join(", ", backups.Select(System.IO.Path.GetFileName))}).", backup);
        }
        using var held = LockState(chosen);
        Directory.Move(chosen, p.StorageDir);
        LocalStateBackup.Forget(chosen);
        return Record(p, node, "Restored", chosen);
    }

    private static LocalStateRecord Record(LocalStatePath p, string node, string action, string? backup) => new()
    {
        Node = node, DataDir = p.DataDir, RuntimeId = p.RuntimeId, Path = p.StorageDir, Action = action, BackupPath = backup,
    };
}
