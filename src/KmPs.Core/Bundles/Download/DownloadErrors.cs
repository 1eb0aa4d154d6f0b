using KmPs.Core.Status;

namespace KmPs.Core.Bundles.Download;

/// <summary>
/// The stable ErrorIds of Save-KmRuntimeBundle (scripts match on these). A downloaded file that is
/// not a sound bundle keeps the ErrorId of <see cref="BundleErrorIds"/> (BundleDigestMismatch, ...).
/// </summary>
public static class DownloadErrorIds
{
    public const string NodeAndSocket = nameof(NodeAndSocket);
    public const string ProxyConflict = nameof(ProxyConflict);
    public const string ProxyCredentialConflict = nameof(ProxyCredentialConflict);
    public const string InvalidVersion = nameof(InvalidVersion);
    public const string NetworkVersionConflict = nameof(NetworkVersionConflict);
    public const string InvalidDownloadUri = nameof(InvalidDownloadUri);
    public const string DownloadDestinationInvalid = nameof(DownloadDestinationInvalid);
    public const string CredentialOverHttp = nameof(CredentialOverHttp);
    public const string BundleDownloadFailed = nameof(BundleDownloadFailed);
    public const string BundleDownloadInterrupted = nameof(BundleDownloadInterrupted);
    public const string BundleDownloadTooLarge = nameof(BundleDownloadTooLarge);
    public const string BundleDownloadInProgress = nameof(BundleDownloadInProgress);
    public const string BundleWrongNetwork = nameof(BundleWrongNetwork);
    public const string BundleWrongRuntime = nameof(BundleWrongRuntime);
    public const string BundleVersionMismatch = nameof(BundleVersionMismatch);
    public const string BundleFileExists = nameof(BundleFileExists);
    public const string BundleNotDeployed = nameof(BundleNotDeployed);
    public const string NodeOtherNetwork = nameof(NodeOtherNetwork);
}

/// <summary>Builds the download errors, so each message and recommended action is written once.</summary>
public static class DownloadErrors
{
    private const string RunAgain = "Run the same command again: it resumes from the partial file where the server allows it.";

    public static KmException InvalidVersion(string text) =>
        new(DownloadErrorIds.InvalidVersion, KmErrorCategory.InvalidArgument,
            $"'{text}' is not a key manager version (e.g. 0.6.0, v0.6.0 or 0.6.0-testnet).", text);

    public static KmException NetworkVersionConflict(string text) =>
        new(DownloadErrorIds.NetworkVersionConflict, KmErrorCategory.InvalidArgument,
            $"The version '{text}' is a Testnet build, but -Network Mainnet was given.", text)
        { RecommendedAction = "Give the version without -testnet for Mainnet, or -Network Testnet." };

    public static KmException InvalidUri(string text, string why) =>
        new(DownloadErrorIds.InvalidDownloadUri, KmErrorCategory.InvalidArgument, $"'{text}' cannot be downloaded from: {why}.", text)
        { RecommendedAction = "Give an absolute http:// or https:// address." };

    public static KmException DestinationInvalid(string path, string why) =>
        new(DownloadErrorIds.DownloadDestinationInvalid, KmErrorCategory.InvalidArgument, $"The bundle cannot be saved to '{path}': {why}.", path)
        { RecommendedAction = "Give -Destination an existing folder, or a file name in an existing folder." };

    public static KmException CredentialOverHttp(Uri uri) =>
        new(DownloadErrorIds.CredentialOverHttp, KmErrorCategory.InvalidArgument,
            $"-Credential would be sent unencrypted to {uri}; refused (as Invoke-WebRequest refuses it).", uri.ToString())
        { RecommendedAction = "Use an https:// address, or add -AllowUnencryptedAuthentication if this network is trusted." };

    public static KmException HttpStatus(Uri uri, int status, string? reason, Uri? redirectedTo = null) =>
        new(DownloadErrorIds.BundleDownloadFailed, status == 404 ? KmErrorCategory.ObjectNotFound : KmErrorCategory.ResourceUnavailable,
            $"GET {uri}{(redirectedTo is not null && redirectedTo != uri ? $" (redirected to {redirectedTo})" : "")} answered " +
            $"HTTP {status}{(string.IsNullOrEmpty(reason) ? "" : " " + reason)}; nothing was saved.", uri.ToString())
        {
            RecommendedAction = status == 404
                ? "Check the version and network (the release tag is v<version> on Mainnet, v<version>-testnet on Testnet), or the -Uri / -BaseUri."
                : status is 401 or 403 or 407 ? "Give -Credential (server) or -ProxyCredential (proxy) as the server requires."
                : "Try again later, or use a mirror with -BaseUri.",
        };

    public static KmException Unreachable(Uri uri, Exception inner) =>
        new(DownloadErrorIds.BundleDownloadFailed, KmErrorCategory.ConnectionError,
            $"Cannot download {uri}: {inner.Message}", uri.ToString(), inner)
        { RecommendedAction = "Check the address, the network and the proxy (-Proxy, or the HTTPS_PROXY environment variable)." };

    public static KmException Interrupted(Uri uri, string partial, long have, long? total, Exception? inner, string how) =>
        new(DownloadErrorIds.BundleDownloadInterrupted, KmErrorCategory.ConnectionError,
            $"The download of {uri} {how} after {have} of {(total is { } t ? t.ToString() : "?")} bytes; " +
            $"the bytes so far are kept in {partial}, nothing is under the final name.", uri.ToString(), inner)
        { RecommendedAction = RunAgain };

    public static KmException TooLarge(Uri uri, long limit) =>
        new(DownloadErrorIds.BundleDownloadTooLarge, KmErrorCategory.InvalidData,
            $"{uri} is larger than {limit} bytes, more than any key manager bundle; the download was stopped and discarded.", uri.ToString())
        { RecommendedAction = "Check the address: it does not serve a key manager ORC." };

    public static KmException InProgress(string partial, Exception inner) =>
        new(DownloadErrorIds.BundleDownloadInProgress, KmErrorCategory.ResourceUnavailable,
            $"{partial} is being written by another download; nothing was changed.", partial, inner)
        { RecommendedAction = "Wait for the other Save-KmRuntimeBundle to finish, then run this one again." };

    public static KmException WrongNetwork(Uri uri, string runtimeId, KmNetwork wanted, KmNetwork found) =>
        new(DownloadErrorIds.BundleWrongNetwork, KmErrorCategory.InvalidData,
            $"{uri} is a {found} key manager bundle (runtime {runtimeId}), not a {wanted} one " +
            $"({KmRelease.RuntimeId(wanted)}); nothing was saved.", uri.ToString())
        { RecommendedAction = $"Use -Network {found} if you meant {found}, or the {wanted} release (tag v<version>{(wanted == KmNetwork.Testnet ? "-testnet" : "")})." };

    public static KmException WrongRuntime(Uri uri, string runtimeId, KmNetwork wanted) =>
        new(DownloadErrorIds.BundleWrongRuntime, KmErrorCategory.InvalidData,
            $"{uri} is a bundle of runtime {runtimeId}, not of the {wanted} key manager ({KmRelease.RuntimeId(wanted)}); nothing was saved.", uri.ToString())
        { RecommendedAction = "Check the -Uri or -BaseUri: it does not serve the key manager ParaTime's release." };

    public static KmException VersionMismatch(Uri uri, OasisVersion wanted, OasisVersion found) =>
        new(DownloadErrorIds.BundleVersionMismatch, KmErrorCategory.InvalidData,
            $"{uri} holds key manager version {found}, not the requested {wanted}; nothing was saved.", uri.ToString())
        { RecommendedAction = "Check the -Version and the -Uri / -BaseUri (a mirror may have put another release under this tag)." };

    public static KmException FileExists(string destination, string existingDigest, string newDigest) =>
        new(DownloadErrorIds.BundleFileExists, KmErrorCategory.ResourceExists,
            $"{destination} already exists with other contents (SHA-512/256 {existingDigest[..16]}…, the download has {newDigest[..16]}…); " +
            "it was left alone and the download discarded.", destination)
        { RecommendedAction = "Give another -Destination, or -Force to replace the file." };

    public static KmException NotDeployed(string bundle, OasisVersion version, string runtimeId, string source, IEnumerable<RuntimeDeployment> deployed) =>
        new(DownloadErrorIds.BundleNotDeployed, KmErrorCategory.InvalidData,
            $"Version {version} is not in the deployments of {runtimeId} that {source} reports " +
            $"(deployed: {string.Join(", ", deployed.Select(d => $"{d.Version}@{d.ValidFrom}"))}); {bundle} was not saved.", bundle)
        { RecommendedAction = "The runtime owner must register a deployment of this version first; check -Version and -Network." };

    /// <summary>The version is deployed, but not this build: the deployment check's problems, under the first one's ErrorId.</summary>
    public static KmException NotTheDeployedBuild(string bundle, string source, IReadOnlyList<DeploymentProblem> problems) =>
        new(problems[0].ErrorId, KmErrorCategory.InvalidData,
            $"{bundle} is not the build the network deployed, as {source} reports it: {string.Join("; ", problems.Select(p => p.Message))}. It was not saved.", bundle)
        { RecommendedAction = "Download the release of the network's own repository again (or from another mirror); a bundle built elsewhere, even of the right version, cannot run." };

    public static KmException NodeOtherNetwork(string node, string nodeRuntime, KmNetwork wanted) =>
        new(DownloadErrorIds.NodeOtherNetwork, KmErrorCategory.InvalidArgument,
            $"The node {node} runs the key manager {nodeRuntime}" +
            (KmRelease.NetworkOf(nodeRuntime) is { } n ? $" ({n})" : "") +
            $", not the {wanted} one; its deployments cannot vouch for a {wanted} bundle. Nothing was downloaded.", node)
        { RecommendedAction = "Give -Network to match the node, or a node of the network the bundle is for." };

    public static KmException DeploymentsUnreadable(string source, Exception inner) =>
        new(DeploymentErrorIds.DeploymentsUnreadable, KmErrorCategory.ConnectionError,
            $"Cannot read the key manager runtime's deployments from {source}: {inner.Message} Nothing was downloaded.", source, inner)
        { RecommendedAction = "Check that the node runs and its control socket can be read, or leave out -Node/-Socket (then only the bundle's own digests are verified)." };

    /// <summary>A downloaded file that is not a sound bundle: the bundle error's id, with where it came from.</summary>
    public static KmException NotSound(Uri uri, string destination, KmException e) =>
        new(e.ErrorId, e.Category, $"The bundle downloaded from {uri} failed verification: {e.Message} Nothing was saved as {destination}.", uri.ToString(), e)
        { RecommendedAction = "The file was corrupted on the way or at the source: download it again, or from another mirror (-BaseUri)." };
}
