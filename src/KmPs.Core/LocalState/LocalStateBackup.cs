using System.Text.Json;

namespace KmPs.Core.LocalState;

/// <summary>
/// A moved-aside state folder and what the wiper recorded about it, in a small file beside it
/// (<c>&lt;backup&gt;.json</c>; never inside it: the sealed state stays byte for byte as the node left it).
/// The sequence number orders backups when the clock was stepped back between two wipes.
/// </summary>
public sealed record LocalStateBackup(string Path, long Sequence, DateTimeOffset? MovedAt, string? Node)
{
    public const string RecordSuffix = ".json";

    public static string RecordPath(string backup) => backup + RecordSuffix;

    /// <summary>The backup and its record; a backup without a readable record is sequence 0 (made by an older version).</summary>
    public static LocalStateBackup Read(string backup)
    {
        try
        {
            var r = JsonSerializer.Deserialize<Stored>(File.ReadAllText(RecordPath(backup)));
            if (r is not null) return new LocalStateBackup(backup, r.Sequence, r.MovedAt, r.Node);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { }
        return new LocalStateBackup(backup, 0, null, null);
    }

    public static void Write(string backup, long sequence, DateTimeOffset movedAt, string node, string from)
    {
        var text = JsonSerializer.Serialize(new Stored { Sequence = sequence, MovedAt = movedAt, Node = node, From = from },
            new JsonSerializerOptions { WriteIndented = true });
        Files.SafeFile.WriteAtomic(RecordPath(backup), System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>After a restore the backup is gone; so is its record.</summary>
    public static void Forget(string backup)
    {
        try { File.Delete(RecordPath(backup)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private sealed class Stored
    {
        public long Sequence { get; set; }
        public DateTimeOffset MovedAt { get; set; }
        public string? Node { get; set; }
        public string? From { get; set; }
    }
}

/// <summary>What Get-KmLocalState shows: whether a node's sealed state is there, and its backups (the one a restore takes first).</summary>
public sealed class LocalStateInfo
{
    public string Node { get; init; } = "";
    public string DataDir { get; init; } = "";
    public string RuntimeId { get; init; } = "";
    public string Path { get; init; } = "";
    public bool Exists { get; init; }
    public LocalStateBackup[] Backups { get; init; } = Array.Empty<LocalStateBackup>();
    /// <summary>The machine it was read on (empty for this one).</summary>
    public string? HostName { get; set; }

    public static LocalStateInfo Of(LocalStatePath p, string node) => new()
    {
        Node = node, DataDir = p.DataDir, RuntimeId = p.RuntimeId, Path = p.StorageDir, Exists = p.Exists, Backups = p.BackupInfos().ToArray(),
    };
}
