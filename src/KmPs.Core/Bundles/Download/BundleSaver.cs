using KmPs.Core.Status;

namespace KmPs.Core.Bundles.Download;

/// <summary>One bundle to fetch: from where, to which file, and what it must be.</summary>
public sealed record BundleSaveRequest
{
    public required Uri Uri { get; init; }
    /// <summary>The final file, an absolute path (see <see cref="BundleSaver.ResolveDestination"/>).</summary>
    public required string Destination { get; init; }
    public required OasisVersion Version { get; init; }
    public required KmNetwork Network { get; init; }
    /// <summary>Replace a file of that name with other bytes.</summary>
    public bool Force { get; init; }
    /// <summary>The deployments read from a node, which the bundle must match; null: the bundle's own digests only.</summary>
    public ChainDeployments? Chain { get; init; }

    public string Partial => BundleDownloader.PartialPath(Destination);
    public string Tag => KmRelease.Tag(Version, Network);
}

/// <summary>
/// Save-KmRuntimeBundle without PowerShell: download into <c>&lt;file&gt;.partial</c> (resumed where
/// the server allows), verify it there (the bundle's own SHA-512/256 digests as oasis-node checks
/// them, the key manager runtime of the requested network, the requested version, and, given the
/// deployments read from a node, a deployment of it), and only then rename it to the final name.
/// A file that fails verification is deleted: nothing is ever left under the final name but a
/// verified bundle. A partial file that was resumed and then fails is downloaded once more from
/// zero (its two halves may come from two versions of the file on a server without validators).
/// </summary>
public static class BundleSaver
{
    /// <summary>
    /// The final file: <paramref name="given"/> as a file path, or the release's file name
    /// (keymanager-0.6.0.orc) in <paramref name="given"/> when that is a folder (an existing one, or a
    /// path ending in '/'), or in <paramref name="currentDirectory"/> when nothing is given.
    /// </summary>
    /// <exception cref="KmException">DownloadDestinationInvalid.</exception>
    public static string ResolveDestination(string? given, string currentDirectory, OasisVersion version, KmNetwork network)
    {
        var name = KmRelease.FileName(version, network);
        if (string.IsNullOrWhiteSpace(given)) return Path.Combine(currentDirectory, name);
        var full = Path.GetFullPath(given, currentDirectory);
        if (Directory.Exists(full)) return Path.Combine(full, name);
        if (given.EndsWith('/') || given.EndsWith(Path.DirectorySeparatorChar))
            throw DownloadErrors.DestinationInvalid(given, "that folder does not exist");
        var folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder))
            throw DownloadErrors.DestinationInvalid(given, $"the folder {folder} does not exist");
        return full;
    }

    /// <summary>An absolute http(s) address; credentials only over https unless allowed.</summary>
    /// <exception cref="KmException">InvalidDownloadUri, CredentialOverHttp.</exception>
    public static Uri CheckUri(string text, bool sendsCredential = false, bool allowUnencryptedAuthentication = false)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)) throw DownloadErrors.InvalidUri(text, "not an absolute address");
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) throw DownloadErrors.InvalidUri(text, $"the scheme '{uri.Scheme}' is not http or https");
        if (sendsCredential && uri.Scheme == Uri.UriSchemeHttp && !allowUnencryptedAuthentication) throw DownloadErrors.CredentialOverHttp(uri);
        return uri;
    }

    /// <summary>Downloads, verifies and saves; <paramref name="log"/> hears what happened on the way (resumed, restarted).</summary>
    /// <exception cref="KmException">Any DownloadErrorIds or BundleErrorIds error; nothing is left under the final name then.</exception>
    /// <exception cref="OperationCanceledException">Cancelled: the partial file is kept for the next call.</exception>
    public static async Task<SavedKmBundle> SaveAsync(BundleDownloader downloader, BundleSaveRequest r,
        IProgress<DownloadProgress>? progress = null, Action<string>? log = null, CancellationToken ct = default)
    {
        var partial = r.Partial;
        DownloadOutcome outcome;
        Verified verified;
        for (var pass = 0; ; pass++)
        {
            outcome = await downloader.DownloadAsync(r.Uri, partial, progress, ct).ConfigureAwait(false);
            if (outcome.ResumedFrom > 0) log?.Invoke($"Resumed {partial} at byte {outcome.ResumedFrom} of {outcome.Length} (HTTP Range).");
            if (outcome.Restarted) log?.Invoke($"The server sent the whole file instead of the rest of {partial}: downloaded again from the start.");
            try
            {
                verified = Verify(partial, r);
                break;
            }
            catch (KmException e)
            {
                BundleDownloader.Discard(partial);
                if (pass > 0 || outcome.ResumedFrom == 0 || e.InnerException is not KmException { ErrorId: var id } || !IsBundleError(id)) throw;
                log?.Invoke($"The resumed download failed verification ({id}); downloading it again from the start.");
            }
        }

        var digest = BundleStaging.Digest(partial);
        var size = new FileInfo(partial).Length;
        var (unchanged, replaced) = Commit(partial, r.Destination, digest, r.Force);
        return new SavedKmBundle
        {
            Path = r.Destination, Version = verified.Bundle.Version.ToString(), Tag = r.Tag, Network = r.Network,
            RuntimeId = verified.Bundle.RuntimeId, Size = size, Digest = digest, SourceUri = r.Uri.ToString(),
            VerifiedAgainst = verified.What, DeploymentVerified = verified.Deployment is not null, Node = r.Chain?.Source,
            ValidFrom = verified.Deployment?.ValidFrom, ResumedFrom = outcome.ResumedFrom, Unchanged = unchanged, Replaced = replaced,
        };
    }

    /// <summary>What a verified file is and what vouched for it.</summary>
    public sealed record Verified(OrcBundle Bundle, string What, RuntimeDeployment? Deployment);

    /// <summary>Checks a downloaded file where it lies (the partial file): sound, this network's key manager, this version, deployed.</summary>
    /// <exception cref="KmException">The bundle's own error (BundleDigestMismatch, ...), BundleWrongNetwork, BundleWrongRuntime, BundleVersionMismatch, BundleNotDeployed.</exception>
    public static Verified Verify(string file, BundleSaveRequest r)
    {
        OrcBundle bundle;
        try { bundle = OrcBundle.Open(file); }
        catch (KmException e) { throw DownloadErrors.NotSound(r.Uri, r.Destination, e); }
        if (!string.Equals(bundle.RuntimeId, KmRelease.RuntimeId(r.Network), StringComparison.OrdinalIgnoreCase))
            throw KmRelease.NetworkOf(bundle.RuntimeId) is { } other
                ? DownloadErrors.WrongNetwork(r.Uri, bundle.RuntimeId, r.Network, other)
                : DownloadErrors.WrongRuntime(r.Uri, bundle.RuntimeId, r.Network);
        if (bundle.Version != r.Version) throw DownloadErrors.VersionMismatch(r.Uri, r.Version, bundle.Version);
        if (r.Chain is null) return new Verified(bundle, SavedKmBundle.DigestsOnly, null);
        var (deployment, what) = DeploymentMatch.Verify(bundle, r.Chain, r.Uri.ToString());
        return new Verified(bundle, what, deployment);
    }

    private static bool IsBundleError(string id) => typeof(BundleErrorIds).GetField(id) is not null;

    /// <summary>Renames the verified partial file to its final name; an existing file is replaced only with <paramref name="force"/>.</summary>
    private static (bool Unchanged, bool Replaced) Commit(string partial, string destination, string digest, bool force)
    {
        try
        {
            if (File.Exists(destination))
            {
                var existing = BundleStaging.Digest(destination);
                if (existing == digest)
                {
                    BundleDownloader.Discard(partial);
                    return (true, false);
                }
                if (!force)
                {
                    BundleDownloader.Discard(partial);
                    throw DownloadErrors.FileExists(destination, existing, digest);
                }
                File.Move(partial, destination, overwrite: true); // rename(2): the old file or the new, never half of one
                File.Delete(BundleDownloader.StatePath(partial));
                return (false, true);
            }
            File.Move(partial, destination, overwrite: false);
            File.Delete(BundleDownloader.StatePath(partial));
            return (false, false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(destination) && !force && File.Exists(partial))
            {
                // Another process put a file there since the check.
                var existing = BundleStaging.Digest(destination);
                BundleDownloader.Discard(partial);
                if (existing == digest) return (true, false);
                throw DownloadErrors.FileExists(destination, existing, digest);
            }
            throw DownloadErrors.DestinationInvalid(destination, e.Message);
        }
    }
}
