using System.IO.Compression;
using KmPs.Status;

namespace KmPs.Bundles;

/// <summary>Which manifest form <see cref="OrcWriter"/> writes.</summary>
public enum OrcLayout
{
    /// <summary>Top-level executable/sgx with runtime.elf, runtime.sgx, runtime.sgx.sig (22.2-era orc).</summary>
    Legacy,
    /// <summary>A RONL component with ronl.elf, ronl.sgx, ronl.sgx.sig (orc since oasis-core 24.0).</summary>
    Components,
}

/// <summary>What a runtime bundle holds: id, version and the runtime's files.</summary>
public sealed record OrcSpec
{
    public required string RuntimeId { get; init; }
    public string? Name { get; init; }
    public OasisVersion Version { get; init; }
    public OrcLayout Layout { get; init; } = OrcLayout.Legacy;
    public required byte[] Elf { get; init; }
    public byte[]? Sgx { get; init; }
    public byte[]? SgxSignature { get; init; }
}

/// <summary>
/// Writes valid ORCs: manifest first, every other file with its SHA-512/256 digest. The simulator
/// and tests use it to make KM bundles of different versions.
/// </summary>
public static class OrcWriter
{
    // A fixed entry time, so the same content always gives the same bytes.
    private static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Writes a bundle for one runtime in the chosen layout and returns what it wrote.</summary>
    public static OrcBundle Write(string path, OrcSpec spec)
    {
        var prefix = spec.Layout == OrcLayout.Legacy ? "runtime" : "ronl";
        var files = new Dictionary<string, byte[]> { [prefix + ".elf"] = spec.Elf };
        OrcSgx? sgx = null;
        if (spec.Sgx is not null)
        {
            files[prefix + ".sgx"] = spec.Sgx;
            if (spec.SgxSignature is not null) files[prefix + ".sgx.sig"] = spec.SgxSignature;
            sgx = new OrcSgx(prefix + ".sgx", spec.SgxSignature is null ? null : prefix + ".sgx.sig");
        }
        var manifest = new OrcManifest { Name = spec.Name, Id = Bundles.RuntimeId.Normalize(spec.RuntimeId), Version = spec.Version };
        manifest = spec.Layout == OrcLayout.Legacy
            ? manifest with { Executable = prefix + ".elf", Sgx = sgx }
            : manifest with
            {
                Components = new[]
                {
                    new OrcComponent { Kind = OrcComponent.RonlKind, Version = spec.Version, ElfExecutable = prefix + ".elf", Sgx = sgx },
                },
            };
        return Write(path, manifest, files);
    }

    /// <summary>
    /// Writes <paramref name="manifest"/> (its digests replaced by those of <paramref name="files"/>)
    /// and the files, then opens the result to prove it valid. The file appears only when complete.
    /// </summary>
    public static OrcBundle Write(string path, OrcManifest manifest, IReadOnlyDictionary<string, byte[]> files)
    {
        var fullPath = Path.GetFullPath(path);
        foreach (var name in files.Keys)
            if (!OrcBundle.IsFlatName(name)) throw BundleErrors.NestedPath(fullPath, name);
        manifest = manifest with { Digests = files.ToDictionary(kv => kv.Key, kv => Sha512_256.HashHex(kv.Value)) };
        if (manifest.Problem() is { } problem) throw BundleErrors.ManifestInvalid(fullPath, problem);

        var entries = new List<(string Name, byte[] Data)> { (OrcManifest.EntryName, manifest.ToJson()) };
        entries.AddRange(files.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)));
        var temp = fullPath + ".partial";
        WriteZip(temp, entries);
        File.Move(temp, fullPath, overwrite: true);
        return OrcBundle.Open(fullPath);
    }

    /// <summary>Writes entries in the given order, as they are: also the way to make broken bundles for tests.</summary>
    public static void WriteZip(string path, IEnumerable<(string Name, byte[] Data)> entries)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
        foreach (var (name, data) in entries)
        {
            var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
            entry.LastWriteTime = EntryTime;
            using var s = entry.Open();
            s.Write(data);
        }
    }
}
