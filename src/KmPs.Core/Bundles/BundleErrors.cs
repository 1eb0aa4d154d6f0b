namespace KmPs.Core.Bundles;

/// <summary>The stable ErrorIds of runtime ids and ORC bundles (scripts match on these).</summary>
public static class BundleErrorIds
{
    public const string BundleChanged = nameof(BundleChanged);
    public const string BundleConflict = nameof(BundleConflict);
    public const string BundleCopyCorrupt = nameof(BundleCopyCorrupt);
    public const string InvalidBundleName = nameof(InvalidBundleName);
    public const string InvalidEnclaveIdentity = nameof(InvalidEnclaveIdentity);
    public const string InvalidRuntimeId = nameof(InvalidRuntimeId);
    public const string BundleNotFound = nameof(BundleNotFound);
    public const string BundleNotZip = nameof(BundleNotZip);
    public const string BundleUnreadable = nameof(BundleUnreadable);
    public const string BundleManifestMissing = nameof(BundleManifestMissing);
    public const string BundleManifestNotFirst = nameof(BundleManifestNotFirst);
    public const string BundleManifestInvalid = nameof(BundleManifestInvalid);
    public const string BundleNestedPath = nameof(BundleNestedPath);
    public const string BundleDuplicateEntry = nameof(BundleDuplicateEntry);
    public const string BundleMissingFile = nameof(BundleMissingFile);
    public const string BundleMissingDigest = nameof(BundleMissingDigest);
    public const string BundleDigestMismatch = nameof(BundleDigestMismatch);
    /// <summary>The SIGSTRUCT is not 1808 bytes, its modulus is not 3072 bits or its date is not a date.</summary>
    public const string BundleSigstructMalformed = nameof(BundleSigstructMalformed);
    /// <summary>The SIGSTRUCT's public key exponent is not 3.</summary>
    public const string BundleSigstructExponent = nameof(BundleSigstructExponent);
    /// <summary>The SIGSTRUCT's RSA signature (or its Q1/Q2) does not verify.</summary>
    public const string BundleSigstructSignatureInvalid = nameof(BundleSigstructSignatureInvalid);
    /// <summary>The SIGSTRUCT signs another enclave: its ENCLAVEHASH is not the .sgxs file's MRENCLAVE.</summary>
    public const string BundleEnclaveHashMismatch = nameof(BundleEnclaveHashMismatch);
    /// <summary>The manifest's component identity names other enclaves than the one the SGX files measure.</summary>
    public const string BundleIdentityMismatch = nameof(BundleIdentityMismatch);
}

/// <summary>Builds the bundle errors, so each message and recommended action is written once.</summary>
internal static class BundleErrors
{
    private const string GetFreshCopy = "Download the ORC again from the network's parameters page and check its checksum.";

    public static KmException NotFound(string path) =>
        new(BundleErrorIds.BundleNotFound, KmErrorCategory.ObjectNotFound, $"The runtime bundle '{path}' does not exist.", path)
        { RecommendedAction = "Check the path of the .orc file." };

    public static KmException NotZip(string path, Exception inner) =>
        new(BundleErrorIds.BundleNotZip, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' is not a readable ZIP archive: {inner.Message}", path, inner)
        { RecommendedAction = GetFreshCopy };

    public static KmException Unreadable(string path, Exception inner) =>
        new(BundleErrorIds.BundleUnreadable, KmErrorCategory.ReadError,
            $"The runtime bundle '{path}' cannot be read: {inner.Message}", path, inner)
        { RecommendedAction = "Check the file's permissions, or run as a user that can read it." };

    public static KmException ManifestMissing(string path) =>
        new(BundleErrorIds.BundleManifestMissing, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' has no {OrcManifest.EntryName}.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException ManifestNotFirst(string path, string firstEntry) =>
        new(BundleErrorIds.BundleManifestNotFirst, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' starts with '{firstEntry}'; {OrcManifest.EntryName} must be its first entry.", path)
        { RecommendedAction = "Rebuild the bundle with the orc tool, which writes the manifest first." };

    public static KmException ManifestInvalid(string path, string problem, Exception? inner = null) =>
        new(BundleErrorIds.BundleManifestInvalid, KmErrorCategory.InvalidData,
            $"The manifest of runtime bundle '{path}' is invalid: {problem}", path, inner)
        { RecommendedAction = GetFreshCopy };

    public static KmException NestedPath(string path, string entry) =>
        new(BundleErrorIds.BundleNestedPath, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' has the entry '{entry}'; bundle files must be plain file names without folders or '..'.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException DuplicateEntry(string path, string entry) =>
        new(BundleErrorIds.BundleDuplicateEntry, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' has the entry '{entry}' more than once.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException MissingFile(string path, string file, string role) =>
        new(BundleErrorIds.BundleMissingFile, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' names '{file}' as its {role} but does not contain it.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException MissingDigest(string path, string file) =>
        new(BundleErrorIds.BundleMissingDigest, KmErrorCategory.InvalidData,
            $"The runtime bundle '{path}' contains '{file}' but its manifest has no digest for it.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException DigestMismatch(string path, string file, string expected, string actual, string? when = null) =>
        new(BundleErrorIds.BundleDigestMismatch, KmErrorCategory.InvalidData,
            $"The file '{file}' in runtime bundle '{path}' has SHA-512/256 {actual}{when}, but the manifest says {expected}.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException SigStructInvalid(string path, string file, Sgx.SigStructException e) =>
        new(e.ErrorId, KmErrorCategory.InvalidData,
            $"The SGX signature '{file}' in runtime bundle '{path}' is not a valid SIGSTRUCT: {e.Message}.", path, e)
        { RecommendedAction = GetFreshCopy };

    public static KmException EnclaveHashMismatch(string path, string file, string enclaveHash, string sgxsFile, string mrEnclave) =>
        new(BundleErrorIds.BundleEnclaveHashMismatch, KmErrorCategory.InvalidData,
            $"The SGX signature '{file}' in runtime bundle '{path}' signs the enclave {enclaveHash}, but '{sgxsFile}' measures as MRENCLAVE {mrEnclave}: " +
            "the signature belongs to another build.", path)
        { RecommendedAction = GetFreshCopy };

    public static KmException IdentityMismatch(string path, string component, string listed, string measured) =>
        new(BundleErrorIds.BundleIdentityMismatch, KmErrorCategory.InvalidData,
            $"The manifest of runtime bundle '{path}' gives {component} the enclave identity {listed}, but its SGX files measure as {measured}.", path)
        { RecommendedAction = GetFreshCopy };
}
