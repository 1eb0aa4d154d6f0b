using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using KmPs.Core.Sgx;
using KmPs.Core.Status;

namespace KmPs.Core.Bundles;

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
    /// <summary>Components layout: write the enclave's identity (measured from Sgx and SgxSignature) into the component's <c>identity</c> (25.0+).</summary>
    public bool ManifestIdentity { get; init; }

    /// <summary>
    /// A bundle of real shape: an ELF, an .sgxs whose code is derived from (runtime id, version,
    /// build) and a SIGSTRUCT signed by <paramref name="signer"/> (<see cref="EnclaveSigner"/>). The same
    /// inputs give the same bytes and identity; another <paramref name="build"/> of the same version
    /// gives another MRENCLAVE, another signer another MRSIGNER.
    /// </summary>
    /// <param name="codeBytes">How much enclave code: the .sgxs is about 1.27 times as large (its measurement records).</param>
    public static OrcSpec Simulated(string runtimeId, OasisVersion version, OrcLayout layout = OrcLayout.Components, string build = "",
        string signer = EnclaveSigner.DefaultName, ushort isvProdId = 0, ushort isvSvn = 0, int codeBytes = 2 * Sgxs.PageSize)
    {
        var seed = $"{Bundles.RuntimeId.Normalize(runtimeId)}/{version}/{build}";
        var enclave = EnclaveSigner.Named(signer).Package(Derive(seed + "/enclave", codeBytes), isvProdId, isvSvn);
        return new OrcSpec
        {
            RuntimeId = runtimeId,
            Name = "keymanager",
            Version = version,
            Layout = layout,
            Elf = [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, .. Derive(seed + "/elf", 1024)],
            Sgx = enclave.Sgxs,
            SgxSignature = enclave.SigStruct,
        };
    }

    private static byte[] Derive(string seed, int size) =>
        Enumerable.Range(0, (size + 31) / 32).SelectMany(i => SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}/{i}"))).Take(size).ToArray();
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
    /// <param name="validate">False writes a bundle that does not validate too (for tests: a SIGSTRUCT of another enclave, ...); its Problems say what is wrong.</param>
    /// <exception cref="KmException">Bundle* ErrorIds when the result does not validate and <paramref name="validate"/> is true; nothing is written then.</exception>
    public static OrcBundle Write(string path, OrcSpec spec, bool validate = true)
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
                    new OrcComponent
                    {
                        Kind = OrcComponent.RonlKind, Version = spec.Version, ElfExecutable = prefix + ".elf", Sgx = sgx,
                        Identities = spec.ManifestIdentity && spec.Sgx is not null && spec.SgxSignature is not null
                            ? new[] { new OrcIdentity(new SgxEnclaveFiles(spec.Sgx, spec.SgxSignature).Identity) }
                            : Array.Empty<OrcIdentity>(),
                    },
                },
            };
        return Write(path, manifest, files, validate);
    }

    /// <summary>
    /// Writes <paramref name="manifest"/> (its digests replaced by those of <paramref name="files"/>)
    /// and the files, then opens the result to prove it valid. The file appears only when complete,
    /// and (with <paramref name="validate"/>) only when it validates.
    /// </summary>
    public static OrcBundle Write(string path, OrcManifest manifest, IReadOnlyDictionary<string, byte[]> files, bool validate = true)
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
        if (validate && OrcBundle.Inspect(temp).Problems is [var first, ..])
        {
            File.Delete(temp);
            throw first;
        }
        File.Move(temp, fullPath, overwrite: true);
        return validate ? OrcBundle.Open(fullPath) : OrcBundle.Inspect(fullPath);
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
