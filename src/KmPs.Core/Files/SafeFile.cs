using System.Globalization;

namespace KmPs.Core.Files;

/// <summary>The stable ErrorIds of file writes.</summary>
public static class FileErrorIds
{
    public const string FileWriteFailed = nameof(FileWriteFailed);
    public const string FileOwnerNotPreserved = nameof(FileOwnerNotPreserved);
}

/// <summary>
/// Writes that never leave a half-written or wrongly owned file: content goes to a temp file in the
/// same folder (so the rename is atomic), is flushed to disk, gets the original's mode and
/// owner, and only then replaces the target. While it is written, a new file has no
/// permissions for others, so nothing is ever world-readable that was not before.
/// </summary>
public static class SafeFile
{
    private const UnixFileMode PermissionBits = (UnixFileMode)0x1ff; // rwxrwxrwx; setuid/setgid/sticky never copied
    private const UnixFileMode OtherBits = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
    private const UnixFileMode NewFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The backup name of <paramref name="path"/> at <paramref name="now"/>: &lt;name&gt;.yyyyMMddTHHmmssZ.bak.</summary>
    public static string BackupName(string path, DateTimeOffset now) => $"{path}.{Stamp(now)}.bak";

    private static string Stamp(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Replaces (or creates) <paramref name="path"/> with <paramref name="content"/> atomically. Mode and
    /// owner come from <paramref name="like"/>, else from the file being replaced; a new file gets 0600.
    /// </summary>
    /// <exception cref="KmException">FileWriteFailed, FileOwnerNotPreserved.</exception>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> content, string? like = null)
    {
        var full = FinalTarget(Path.GetFullPath(path));
        like ??= File.Exists(full) ? full : null;
        if (!TryWriteNew(full, content, like, overwrite: true))
            throw WriteFailed(full, new IOException("the target appeared while it was written"));
    }

    /// <summary>Copies <paramref name="path"/> to its timestamped backup (same folder, mode and owner) and returns the backup's path.</summary>
    public static string Backup(string path, DateTimeOffset? now = null)
    {
        var full = Path.GetFullPath(path);
        byte[] content;
        try
        {
            content = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(full, e, "back up");
        }
        return Backup(full, content, now ?? DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// Writes <paramref name="content"/> (what was read of <paramref name="path"/>) as its backup. An
    /// existing backup is never overwritten: a second one in the same second gets a counter (.1.bak).
    /// </summary>
    public static string Backup(string path, ReadOnlySpan<byte> content, DateTimeOffset now)
    {
        var full = Path.GetFullPath(path);
        var name = BackupName(full, now);
        for (var n = 1; n < 100; n++)
        {
            if (TryWriteNew(name, content, FinalTarget(full), overwrite: false)) return name;
            name = $"{full}.{Stamp(now)}.{n}.bak";
        }
        throw WriteFailed(full, new IOException("too many backups in the same second"), "back up");
    }

    /// <summary>
    /// The file a symbolic link finally points to: replacing the link itself would turn it into a
    /// plain file and leave the file it pointed to unchanged.
    /// </summary>
    private static string FinalTarget(string path) =>
        File.Exists(path) && new FileInfo(path).LinkTarget is not null ? File.ResolveLinkTarget(path, returnFinalTarget: true)!.FullName : path;

    /// <summary>Hex SHA-512/256 of a file's bytes.</summary>
    public static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Bundles.Sha512_256.HashHex(stream);
    }

    /// <summary>Writes a temp file, then renames it to <paramref name="target"/>; false when it exists and may not be overwritten.</summary>
    private static bool TryWriteNew(string target, ReadOnlySpan<byte> content, string? like, bool overwrite)
    {
        var folder = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var mode = like is null || OperatingSystem.IsWindows() ? NewFileMode : File.GetUnixFileMode(like) & PermissionBits;
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode & ~OtherBits;
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }
            if (like is not null) CopyOwner(like, temp, target);
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, mode);
            if (!overwrite && File.Exists(target)) return false;
            File.Move(temp, target, overwrite);
            if (UnixFile.Supported) UnixFile.SyncFolder(folder);
            return true;
        }
        catch (IOException) when (!overwrite && File.Exists(target))
        {
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(target, e);
        }
        finally
        {
            // Gone after a successful rename; otherwise the half-made file must not stay behind.
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Gives <paramref name="temp"/> the owner of <paramref name="like"/>; chown only when they differ, since only root may.</summary>
    private static void CopyOwner(string like, string temp, string target)
    {
        if (!UnixFile.Supported) return;
        var want = UnixFile.Owner(like);
        var have = UnixFile.Owner(temp);
        if (want == have || UnixFile.TryChown(temp, want.Uid, want.Gid)) return;
        throw new KmException(FileErrorIds.FileOwnerNotPreserved, KmErrorCategory.PermissionDenied,
            $"'{target}' would be owned by {have.Uid}:{have.Gid} instead of {want.Uid}:{want.Gid} like '{like}', " +
            $"and this process (uid {UnixFile.EffectiveUid}) may not change owners; nothing was written.", target)
        { RecommendedAction = $"Run as root or as uid {want.Uid}." };
    }

    private static KmException WriteFailed(string path, Exception e, string what = "write") =>
        new(FileErrorIds.FileWriteFailed, KmErrorCategory.WriteError, $"Could not {what} '{path}': {e.Message}", path, e)
        { RecommendedAction = "Check the folder's permissions and free space." };
}
