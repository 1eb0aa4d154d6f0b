using System.Security.Cryptography;
using System.Text;

namespace KmPs.Tests.Support;

/// <summary>A node data dir on disk with a sealed-state folder and the neighbours a real one has.</summary>
public sealed class FakeDataDir : IDisposable
{
    private readonly TempDir _dir = new("kmd");
    public string Root => _dir.Path;
    public string DataDir { get; }
    public string RuntimeId { get; }
    public string RuntimeDir => Path.Combine(DataDir, "runtimes", RuntimeId);
    public string StorageDir => Path.Combine(RuntimeDir, "worker-local-storage.badger.db");

    public FakeDataDir(string runtimeId = TestOrcs.TestnetKm)
    {
        RuntimeId = runtimeId;
        DataDir = Path.Combine(Root, "data");
        Directory.CreateDirectory(StorageDir);
        File.WriteAllText(Path.Combine(StorageDir, "MANIFEST"), "badger");
        File.WriteAllBytes(Path.Combine(StorageDir, "000001.vlog"), RandomNumberGenerator.GetBytes(256));
        Directory.CreateDirectory(Path.Combine(DataDir, "persistent-store.badger.db"));
        File.WriteAllText(Path.Combine(DataDir, "persistent-store.badger.db", "MANIFEST"), "keep me");
        File.WriteAllText(Path.Combine(DataDir, "identity.pem"), "-----BEGIN ED25519 PRIVATE KEY-----");
        Directory.CreateDirectory(Path.Combine(DataDir, "runtimes", "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c", "worker-local-storage.badger.db"));
        File.WriteAllText(Path.Combine(DataDir, "runtimes", "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c", "worker-local-storage.badger.db", "x"), "compute state");
    }

    public string Hash() => TreeHash.Of(Root);

    public void Dispose() => _dir.Dispose();
}

/// <summary>A hash over every path, type, mode, link target and file content under a folder.</summary>
public static class TreeHash
{
    public static string Of(params string[] roots)
    {
        var sb = new StringBuilder();
        foreach (var root in roots)
        {
            if (File.Exists(root)) { Add(sb, root, new FileInfo(root)); continue; }
            if (!Directory.Exists(root)) { sb.Append("missing:" + root); continue; }
            foreach (var e in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                         .OrderBy(e => e.FullName, StringComparer.Ordinal))
                Add(sb, root, e);
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static void Add(StringBuilder sb, string root, FileSystemInfo e)
    {
        sb.Append(Path.GetRelativePath(root, e.FullName)).Append('|').Append(e.UnixFileMode).Append('|').Append(e.LinkTarget);
        // Sockets have no content; a database LOCK may be flock'ed by a running node (content is empty anyway).
        if (e is FileInfo f && e.LinkTarget is null && !f.Name.EndsWith(".sock", StringComparison.Ordinal) && f.Name != "LOCK")
            sb.Append('|').Append(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f.FullName))));
        sb.Append('\n');
    }
}
