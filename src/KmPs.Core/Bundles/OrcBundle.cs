using System.IO.Compression;
using KmPs.Core.Sgx;

namespace KmPs.Core.Bundles;

/// <summary>A file inside a bundle, its digest as the manifest says and as read.</summary>
public sealed record OrcFile(string Name, long Size, string? ExpectedDigest, string ActualDigest)
{
    public bool Ok => ExpectedDigest == ActualDigest;
}

/// <summary>
/// The SGX enclave of a bundle's RONL component, as oasis-core's bundle.go measures it: MRENCLAVE is
/// the SHA-256 of the .sgxs file (MrEnclave), MRSIGNER the SHA-256 of the SIGSTRUCT's modulus
/// (MrSigner), and the SIGSTRUCT must sign that MRENCLAVE (verifySgxSignature).
/// </summary>
public sealed record OrcEnclave
{
    public required string SgxsFile { get; init; }
    public string? SignatureFile { get; init; }
    /// <summary>SHA-256 of the .sgxs file, lowercase hex.</summary>
    public required string MrEnclave { get; init; }
    /// <summary>The verified SIGSTRUCT; null without a signature file or when it does not verify.</summary>
    public SigStruct? SigStruct { get; init; }
    public string? MrSigner => SigStruct?.MrSigner;
    /// <summary>Whether the SIGSTRUCT's ENCLAVEHASH is this MRENCLAVE (null without a verified SIGSTRUCT).</summary>
    public bool? EnclaveHashMatches => SigStruct is null ? null : SigStruct.EnclaveHash == MrEnclave;
    /// <summary>MRENCLAVE and MRSIGNER, when the signature verified.</summary>
    public EnclaveIdentity? Identity => MrSigner is null ? null : new EnclaveIdentity(MrEnclave, MrSigner);

    public override string ToString() =>
        $"{SgxsFile} (MRENCLAVE {MrEnclave[..8]}…), " + (SignatureFile is null ? "no signature"
            : SigStruct is null ? $"{SignatureFile} (does not verify)"
            : $"{SignatureFile} (MRSIGNER {MrSigner![..8]}…, ISV {SigStruct.IsvProdId}/{SigStruct.IsvSvn}, {(EnclaveHashMatches == true ? "signs this enclave" : "signs another enclave")})");
}

/// <summary>
/// An opened ORC (Oasis Runtime Container): a ZIP whose first entry is the JSON manifest
/// <c>META-INF/MANIFEST.MF</c>, then flat files whose SHA-512/256 digests the manifest lists.
/// Validation follows oasis-node's bundle Open/Validate (go/runtime/bundle bundle.go), the SGX
/// signature included: each SGX component's SIGSTRUCT must verify and sign its .sgxs's MRENCLAVE.
/// The ELF checks are not done. The archive is not kept open: <see cref="ReadFile"/> opens it again.
/// </summary>
public sealed class OrcBundle
{
    // Declared in the order Format-List * shows them: what the bundle is, then its enclave, then the detail.
    public string Path { get; }
    public string RuntimeId => Manifest.Id;
    public string? Name => Manifest.Name;
    public Status.OasisVersion Version => Manifest.RuntimeVersion;
    /// <summary>Mainnet or Testnet for those networks' key manager runtimes, else null (<see cref="KmNetworks"/>).</summary>
    public KmNetwork? Network => KmNetworks.OfRuntime(RuntimeId);
    public bool IsKeyManager => Bundles.RuntimeId.IsKeyManager(Manifest.Id);
    public bool IsValid => Problems.Count == 0;
    /// <summary>Missing files, digest and SGX signature problems found by <see cref="Inspect"/>, in oasis-node's order.</summary>
    public IReadOnlyList<KmException> Problems { get; }

    /// <summary>
    /// The identity the RONL enclave runs as: the one its SGX files measure; without SGX files, the
    /// first the manifest's component <c>identity</c> lists (25.0+). Null when neither is there.
    /// </summary>
    public EnclaveIdentity? EnclaveIdentity => Enclave?.Identity ?? ManifestIdentities.FirstOrDefault()?.Enclave;
    public string? MrEnclave => EnclaveIdentity?.MrEnclave;
    public string? MrSigner => EnclaveIdentity?.MrSigner;
    public ushort? IsvProdId => Enclave?.SigStruct?.IsvProdId;
    public ushort? IsvSvn => Enclave?.SigStruct?.IsvSvn;
    /// <summary>Whether the SGX signature signs this enclave (null without a verified signature).</summary>
    public bool? EnclaveHashMatches => Enclave?.EnclaveHashMatches;
    /// <summary>SHA-512/256 of the CBOR-encoded manifest (oasis-core Manifest.Hash): a 25.0+ deployment's bundle_checksum.</summary>
    public string ManifestHash { get; }
    /// <summary>The RONL component's identities as its 25.0+ manifest lists them (empty for older manifests).</summary>
    public IReadOnlyList<OrcIdentity> ManifestIdentities => Manifest.Ronl?.Identities ?? Array.Empty<OrcIdentity>();

    /// <summary>The RONL enclave file: its SGXS, else its ELF executable (null without a RONL).</summary>
    public string? EnclaveFile => Manifest.Ronl?.EnclaveFile;
    /// <summary>The RONL component's SGX enclave as measured from its files (null without SGX or without the .sgxs file).</summary>
    public OrcEnclave? Enclave { get; }

    /// <summary>
    /// Hex SHA-256 over every file's name and SHA-512/256: two bundles with the same version but other
    /// bytes (a rebuilt ORC at the same path) have different contents.
    /// </summary>
    public string ContentDigest => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
        string.Join("\n", Files.Select(f => f.Name + ":" + f.ActualDigest))))).ToLowerInvariant();
    /// <summary>Every file but the manifest, in archive order.</summary>
    public IReadOnlyList<OrcFile> Files { get; }
    public OrcManifest Manifest { get; }

    private OrcBundle(string path, OrcManifest manifest, IReadOnlyList<OrcFile> files, OrcEnclave? enclave, IReadOnlyList<KmException> problems)
    {
        Path = path;
        Manifest = manifest;
        Files = files;
        Enclave = enclave;
        Problems = problems;
        ManifestHash = manifest.Hash();
    }

    /// <summary>Opens and fully validates a bundle, like oasis-node does before running it.</summary>
    /// <exception cref="KmException">Any of the Bundle* ErrorIds in <see cref="BundleErrorIds"/>.</exception>
    public static OrcBundle Open(string path)
    {
        var bundle = Inspect(path);
        if (bundle.Problems.Count > 0) throw bundle.Problems[0];
        return bundle;
    }

    /// <summary>
    /// Opens a bundle and reports missing files and digest problems in <see cref="Problems"/>
    /// instead of throwing, so a caller can show every file's state. Layout and manifest
    /// errors still throw, since nothing sensible can be shown then.
    /// </summary>
    /// <remarks>
    /// The last few valid bundles are kept by their path and the SHA-256 of the file's bytes: one
    /// upgrade opens its ORC for the plan, the pre-flight and every node's config change, and the
    /// same bytes always open to the same bundle. A file whose bytes changed is opened afresh; a bundle
    /// is kept only when the file hashed the same before and after it was read.
    /// </remarks>
    public static OrcBundle Inspect(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw BundleErrors.NotFound(fullPath);
        var content = FileHash(fullPath);
        lock (Kept)
        {
            foreach (var (keptPath, keptContent, bundle) in Kept)
                if (content is not null && keptPath == fullPath && keptContent == content) return bundle;
        }
        var opened = Read(fullPath);
        if (content is not null && opened.Problems.Count == 0 && FileHash(fullPath) == content)
            lock (Kept)
            {
                if (Kept.Count == KeptBundles) Kept.RemoveAt(0);
                Kept.Add((fullPath, content, opened));
            }
        return opened;
    }

    private const int KeptBundles = 4;
    private static readonly List<(string Path, string Content, OrcBundle Bundle)> Kept = new();

    /// <summary>Hex SHA-256 of the file's bytes; null when it cannot be read (opening it reports why).</summary>
    private static string? FileHash(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static OrcBundle Read(string fullPath)
    {
        try
        {
            using var zip = ZipFile.OpenRead(fullPath);
            var entries = CheckLayout(fullPath, zip);
            var manifest = OrcManifest.Parse(ReadAll(entries[0]), fullPath);
            var files = entries.Skip(1).Select(e => HashEntry(e, manifest)).ToList();
            var problems = FindProblems(fullPath, manifest, files);
            var enclave = CheckEnclaves(fullPath, zip, manifest, problems);
            return new OrcBundle(fullPath, manifest, files, enclave, problems);
        }
        catch (InvalidDataException e)
        {
            throw BundleErrors.NotZip(fullPath, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw BundleErrors.Unreadable(fullPath, e);
        }
    }

    /// <summary>The bytes of one file, checked against the digest taken when the bundle was opened.</summary>
    public byte[] ReadFile(string name)
    {
        var known = Files.FirstOrDefault(f => f.Name == name);
        if (known is null && name != OrcManifest.EntryName) throw BundleErrors.MissingFile(Path, name, "file");
        try
        {
            using var zip = ZipFile.OpenRead(Path);
            var entry = zip.Entries.FirstOrDefault(e => e.FullName == name) ?? throw BundleErrors.MissingFile(Path, name, "file");
            var bytes = ReadAll(entry);
            if (known is not null && Sha512_256.HashHex(bytes) is var actual && actual != known.ActualDigest)
                throw BundleErrors.DigestMismatch(Path, name, known.ActualDigest, actual, " now (the bundle changed since it was opened)");
            return bytes;
        }
        catch (InvalidDataException e)
        {
            throw BundleErrors.NotZip(Path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw File.Exists(Path) ? BundleErrors.Unreadable(Path, e) : BundleErrors.NotFound(Path);
        }
    }

    /// <summary>Manifest first, then flat, unique file names (oasis-node's Open).</summary>
    private static IReadOnlyList<ZipArchiveEntry> CheckLayout(string path, ZipArchive zip)
    {
        var entries = zip.Entries;
        if (!entries.Any(e => e.FullName == OrcManifest.EntryName)) throw BundleErrors.ManifestMissing(path);
        if (entries[0].FullName != OrcManifest.EntryName) throw BundleErrors.ManifestNotFirst(path, entries[0].FullName);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (!seen.Add(e.FullName)) throw BundleErrors.DuplicateEntry(path, e.FullName);
            if (e != entries[0] && !IsFlatName(e.FullName)) throw BundleErrors.NestedPath(path, e.FullName);
        }
        return entries;
    }

    /// <summary>
    /// oasis-node requires filepath.Dir(name) == "."; this also refuses "..", "." and backslashes,
    /// which Go would let through but which no real bundle has and which an unzip tool may treat as paths.
    /// </summary>
    internal static bool IsFlatName(string name) =>
        name.Length > 0 && name != "." && name != ".." && name.IndexOfAny(new[] { '/', '\\' }) < 0;

    private static OrcFile HashEntry(ZipArchiveEntry entry, OrcManifest manifest)
    {
        using var stream = entry.Open();
        var actual = Sha512_256.HashHex(stream);
        return new OrcFile(entry.FullName, entry.Length, manifest.Digests.GetValueOrDefault(entry.FullName), actual);
    }

    private static List<KmException> FindProblems(string path, OrcManifest manifest, IReadOnlyList<OrcFile> files)
    {
        var problems = new List<KmException>();
        var present = files.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var named in manifest.NamedFiles())
            if (!present.Contains(named.File)) problems.Add(BundleErrors.MissingFile(path, named.File, named.Role));
        foreach (var f in files)
        {
            if (f.ExpectedDigest is null) problems.Add(BundleErrors.MissingDigest(path, f.Name));
            else if (!f.Ok) problems.Add(BundleErrors.DigestMismatch(path, f.Name, f.ExpectedDigest, f.ActualDigest));
        }
        return problems;
    }

    /// <summary>
    /// verifySgxSignature for every SGX component (the SIGSTRUCT verifies and signs the .sgxs's
    /// MRENCLAVE), then the RONL's identity against the manifest's own list. Returns the RONL enclave.
    /// </summary>
    private static OrcEnclave? CheckEnclaves(string path, ZipArchive zip, OrcManifest manifest, List<KmException> problems)
    {
        OrcEnclave? ronl = null;
        var components = manifest.Components.Where(c => !c.IsRonl).Prepend(manifest.Ronl).Where(c => c?.Sgx is not null);
        foreach (var c in components)
        {
            var sgx = c!.Sgx!;
            if (zip.GetEntry(sgx.Executable) is not { } sgxsEntry) continue; // reported as a missing file
            string mrEnclave;
            using (var s = sgxsEntry.Open()) mrEnclave = Sgxs.MrEnclave(s);
            SigStruct? sig = null;
            if (sgx.Signature is not null && zip.GetEntry(sgx.Signature) is { } sigEntry)
            {
                try
                {
                    sig = sigEntry.Length == SigStruct.Size ? SigStruct.Verify(ReadAll(sigEntry)) : throw SigStruct.WrongSize(sigEntry.Length);
                    if (sig.EnclaveHash != mrEnclave) problems.Add(BundleErrors.EnclaveHashMismatch(path, sgx.Signature, sig.EnclaveHash, sgx.Executable, mrEnclave));
                }
                catch (SigStructException e)
                {
                    problems.Add(BundleErrors.SigStructInvalid(path, sgx.Signature, e));
                }
            }
            var enclave = new OrcEnclave { SgxsFile = sgx.Executable, SignatureFile = sgx.Signature, MrEnclave = mrEnclave, SigStruct = sig };
            if (!c.IsRonl) continue;
            ronl = enclave;
            if (enclave.Identity is { } measured && c.Identities.Count > 0 && c.Identities.All(i => i.Enclave != measured))
                problems.Add(BundleErrors.IdentityMismatch(path, c.Id, string.Join(", ", c.Identities.Select(i => i.Enclave.Short)), measured.Short));
        }
        return ronl;
    }

    private static byte[] ReadAll(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
