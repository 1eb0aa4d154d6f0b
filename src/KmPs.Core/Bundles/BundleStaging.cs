using KmPs.Core.Config;

namespace KmPs.Core.Bundles;

/// <summary>Where a new ORC goes on a node's machine, and whether an identical copy is already there.</summary>
public sealed record BundlePlace(string Destination, bool Present);

/// <summary>
/// One verified copy of the new ORC beside the node's current key manager bundle, which is what the
/// config then names (issue 9 #7): the operator's file (a CI workspace cleaned afterwards, a file
/// rebuilt at the same path) is never what a node needs to restart. The same rules on this machine
/// and, through the remote endpoint, on a node's own machine.
/// </summary>
public static class BundleStaging
{
    /// <summary>SHA-512/256 of the file's bytes, lower-case hex.</summary>
    public static string Digest(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexString(Sha512_256.Hash(f)).ToLowerInvariant();
    }

    /// <summary>
    /// Beside the key manager bundle <paramref name="configPath"/> names now, under the ORC's own
    /// file name. A file of that name with other bytes is never overwritten (BundleConflict).
    /// </summary>
    public static BundlePlace Place(string configPath, string fileName, string digest)
    {
        if (fileName.Length == 0 || fileName != Path.GetFileName(fileName))
            throw new KmException(BundleErrorIds.InvalidBundleName, KmErrorCategory.InvalidArgument, $"'{fileName}' is not a file name.", fileName);
        var current = NodeConfig.Load(configPath).FindKmBundle()
                      ?? throw new KmException(ConfigErrorIds.ConfigNoKmBundle, KmErrorCategory.InvalidData,
                          $"{configPath} names no key manager bundle, so there is no bundle folder to copy the new ORC to.", configPath);
        var destination = Path.Combine(Path.GetDirectoryName(current.FullPath)!, fileName);
        if (!File.Exists(destination)) return new BundlePlace(destination, false);
        if (Digest(destination) == digest) return new BundlePlace(destination, true);
        throw new KmException(BundleErrorIds.BundleConflict, KmErrorCategory.ResourceExists,
            $"{destination} already exists with other contents than the ORC to install (SHA-512/256 differs); it was left alone.", destination)
        {
            RecommendedAction = "Remove or rename that file on the node's machine, or give the new ORC another file name.",
        };
    }

    /// <summary>Copies <paramref name="orc"/> to its place beside the node's bundle (verified after the copy); returns the copy's path.</summary>
    /// <param name="expectedDigest">The digest the ORC had when the run was planned: a file changed since is refused (BundleChanged).</param>
    public static string Stage(string configPath, string orc, string? expectedDigest = null)
    {
        var digest = Digest(orc);
        RequireDigest(orc, digest, expectedDigest);
        var place = Place(configPath, Path.GetFileName(orc), digest);
        if (place.Present) return place.Destination;
        var temp = UploadPath(place.Destination);
        try
        {
            File.Copy(orc, temp);
            Commit(temp, place.Destination, digest, new FileInfo(orc).Length);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return place.Destination;
    }

    /// <summary>The ORC must still be the file the run was planned with (its SHA-512/256); null expects nothing.</summary>
    public static void RequireDigest(string orc, string digest, string? expected)
    {
        if (expected is null || digest == expected) return;
        throw new KmException(BundleErrorIds.BundleChanged, KmErrorCategory.InvalidData,
            $"{orc} changed since the upgrade was planned (SHA-512/256 {digest[..16]}…, planned {expected[..Math.Min(16, expected.Length)]}…); it was not installed.", orc)
        { RecommendedAction = "Put the planned ORC back, or start a new upgrade with the new file (another journal)." };
    }

    /// <summary>Checks a copy (size, digest, a readable ORC) and moves it into place; never replaces a file.</summary>
    public static void Commit(string temp, string destination, string digest, long length)
    {
        var size = new FileInfo(temp).Length;
        var got = Digest(temp);
        if (size != length || got != digest)
            throw new KmException(BundleErrorIds.BundleCopyCorrupt, KmErrorCategory.InvalidData,
                $"The ORC copied to {destination} arrived with {size} bytes and SHA-512/256 {got}, not {length} bytes and {digest}; it was not installed.", destination);
        OrcBundle.Open(temp); // a readable ORC, before anything names it
        File.Move(temp, destination, overwrite: false);
    }

    private const string UploadInfix = ".upload-";

    /// <summary>
    /// A new temporary file for a copy on its way to <paramref name="destination"/>: hidden, beside it,
    /// <c>.&lt;name&gt;.upload-&lt;32 hex&gt;</c>, so that nothing names it and an interrupted copy is recognisable.
    /// </summary>
    public static string UploadPath(string destination) =>
        Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}{UploadInfix}{Guid.NewGuid():N}");

    /// <summary>
    /// Whether <paramref name="tempPath"/> is a copy in progress as <see cref="UploadPath"/> names them: an absolute
    /// path without "." or ".." parts (nothing that could lead elsewhere) whose file name is
    /// <c>.&lt;name&gt;.upload-&lt;32 hex&gt;</c>. The remote endpoint appends and commits only such files.
    /// </summary>
    public static bool IsUpload(string? tempPath) => UploadTarget(tempPath) is not null;

    /// <summary>
    /// Whether <paramref name="tempPath"/> is a copy in progress for exactly <paramref name="destination"/>: the same
    /// folder and the destination's file name (a copy is only ever moved to the name it was made for).
    /// </summary>
    public static bool IsUploadFor(string? tempPath, string? destination) =>
        UploadTarget(tempPath) is { } target && destination is not null && IsPlain(destination) && target == destination;

    /// <summary>The destination a copy in progress was made for, or null when the path is not one.</summary>
    private static string? UploadTarget(string? tempPath)
    {
        if (tempPath is null || !IsPlain(tempPath)) return null;
        var name = Path.GetFileName(tempPath);
        var infix = name.LastIndexOf(UploadInfix, StringComparison.Ordinal);
        if (!name.StartsWith('.') || infix < 2) return null;
        var id = name[(infix + UploadInfix.Length)..];
        if (id.Length != 32 || !id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f')) return null;
        return Path.Combine(Path.GetDirectoryName(tempPath)!, name[1..infix]);
    }

    /// <summary>An absolute path with no empty, "." or ".." part and no trailing separator.</summary>
    private static bool IsPlain(string path) =>
        path.Length > 1 && path[0] == '/' && path.Split('/')[1..].All(part => part.Length > 0 && part != "." && part != "..");
}
