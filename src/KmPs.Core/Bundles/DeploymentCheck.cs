using KmPs.Core.Sgx;
using KmPs.Core.Status;

namespace KmPs.Core.Bundles;

/// <summary>
/// The stable ErrorIds of <see cref="DeploymentCheck"/>: why a bundle cannot run as a deployment of
/// the network's runtime. The pre-flight reports them under the same ids (PreflightErrorIds).
/// </summary>
public static class DeploymentErrorIds
{
    /// <summary>The bundle is of the other public network's key manager (Testnet on Mainnet, or the reverse).</summary>
    public const string BundleOtherNetwork = nameof(BundleOtherNetwork);
    /// <summary>The bundle is of another runtime than the one asked about (not a matter of networks).</summary>
    public const string BundleOtherRuntime = nameof(BundleOtherRuntime);
    public const string DeploymentsUnreadable = nameof(DeploymentsUnreadable);
    /// <summary>The bundle's version has no deployment.</summary>
    public const string VersionNotDeployed = nameof(VersionNotDeployed);
    /// <summary>The bundle's enclave identity is not in its version's deployment <c>tee.enclaves</c>.</summary>
    public const string EnclaveNotDeployed = nameof(EnclaveNotDeployed);
    /// <summary>The deployment's bundle_checksum (a 25.0+ manifest hash) is not the bundle's manifest hash.</summary>
    public const string BundleChecksumMismatch = nameof(BundleChecksumMismatch);
    /// <summary>The bundle has no enclave identity to compare (no SGX files, or a signature that does not verify).</summary>
    public const string BundleIdentityUnknown = nameof(BundleIdentityUnknown);
    /// <summary>The deployment's <c>tee</c> does not decode as SGX constraints.</summary>
    public const string DeploymentTeeUnreadable = nameof(DeploymentTeeUnreadable);
}

/// <summary>One reason a bundle does not match the network's deployments.</summary>
public sealed record DeploymentProblem(string ErrorId, string Message)
{
    public override string ToString() => Message;
}

/// <summary>What <see cref="DeploymentCheck.Verify"/> found: the bundle's version's deployment and every problem.</summary>
public sealed class DeploymentCheckResult
{
    public bool Ok => Problems.Count == 0;
    /// <summary>The deployment of the bundle's version (null when there is none, or the bundle is of another runtime).</summary>
    public RuntimeDeployment? Deployment { get; init; }
    public IReadOnlyList<DeploymentProblem> Problems { get; init; } = Array.Empty<DeploymentProblem>();
    /// <summary>The identity the bundle's enclave runs as (<see cref="OrcBundle.EnclaveIdentity"/>).</summary>
    public EnclaveIdentity? BundleIdentity { get; init; }
    /// <summary>The identities the deployment allows (empty without a deployment or SGX constraints).</summary>
    public IReadOnlyList<EnclaveIdentity> DeployedIdentities => Deployment?.Enclaves ?? Array.Empty<EnclaveIdentity>();
    /// <summary>The deployment's bundle_checksum was a manifest hash and equals the bundle's.</summary>
    public bool BundleChecksumVerified { get; init; }

    public override string ToString() => Ok ? "the bundle matches its deployment" : string.Join("; ", Problems);
}

/// <summary>
/// Checks a bundle against the network's own record of the runtime (Registry/GetRuntime): it is of
/// that runtime (and of that network); its version is deployed; its enclave identity is one of the
/// deployment's <c>tee.enclaves</c>, which is what the registry accepts a node's attestation against
/// (go/registry/api runtime.go VersionInfo.TEE, go/common/node/sgx.go SGXConstraints.ContainsEnclave);
/// and when the deployment carries a bundle_checksum of the 25.0+ kind (the manifest hash,
/// go/runtime/registry/registry.go), it is the bundle's. Every problem is listed; nothing is read
/// but the two objects given.
/// </summary>
public static class DeploymentCheck
{
    public static DeploymentCheckResult Verify(OrcBundle bundle, RegistryRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(runtime);
        var problems = new List<DeploymentProblem>();
        var identity = bundle.EnclaveIdentity;

        if (NetworkProblem(bundle, runtime.Id) is { } network)
        {
            problems.Add(network);
            return new DeploymentCheckResult { Problems = problems, BundleIdentity = identity };
        }

        var deployment = runtime.Find(bundle.Version);
        if (deployment is null)
        {
            problems.Add(new(DeploymentErrorIds.VersionNotDeployed, NotDeployedText(bundle, runtime)));
            return new DeploymentCheckResult { Problems = problems, BundleIdentity = identity };
        }

        // An SGX runtime's deployment always has TEE constraints with at least one enclave (the registry
        // refuses others: go/registry/api runtime.go, ErrNoEnclaveForRuntime); without them there is nothing to compare.
        if (deployment.Tee is { Length: > 0 })
        {
            if (deployment.TeeProblem is { } tee)
                problems.Add(new(DeploymentErrorIds.DeploymentTeeUnreadable,
                    $"the deployment of {deployment.Version} has TEE constraints that do not decode ({tee}), so the bundle's enclave cannot be checked against it"));
            else if (identity is null)
                problems.Add(new(DeploymentErrorIds.BundleIdentityUnknown,
                    $"{FileName(bundle)} has no enclave identity to check against the deployment of {deployment.Version} " +
                    "(no SGX enclave and signature, or a signature that does not verify)"));
            else if (!deployment.Enclaves.Contains(identity))
                problems.Add(new(DeploymentErrorIds.EnclaveNotDeployed,
                    $"{FileName(bundle)} is version {bundle.Version} but its enclave {identity.Short} (MRENCLAVE {identity.MrEnclave}, MRSIGNER {identity.MrSigner}) " +
                    $"is not one the network deployed for {deployment.Version} ({DeployedText(deployment)}): it is another build of that version"));
        }

        var verified = false;
        if (deployment.BundleChecksum is { } checksum && runtime.BundleChecksumIsManifestHash)
        {
            if (checksum == bundle.ManifestHash) verified = true;
            else
                problems.Add(new(DeploymentErrorIds.BundleChecksumMismatch,
                    $"the deployment of {deployment.Version} names the bundle with manifest hash {checksum}, but {FileName(bundle)} has manifest hash {bundle.ManifestHash}"));
        }
        return new DeploymentCheckResult { Deployment = deployment, Problems = problems, BundleIdentity = identity, BundleChecksumVerified = verified };
    }

    /// <summary>
    /// The bundle is of another runtime than <paramref name="runtimeId"/>: by network name when one is
    /// Mainnet's and the other Testnet's key manager, else by runtime id. Null when it is the same runtime.
    /// </summary>
    public static DeploymentProblem? NetworkProblem(OrcBundle bundle, string? runtimeId)
    {
        var nodes = KmNetworks.OfRuntime(runtimeId);
        var ours = KmNetworks.OfBundle(bundle);
        if (nodes is not null && ours is not null && nodes != ours)
            return new(DeploymentErrorIds.BundleOtherNetwork,
                $"{FileName(bundle)} is a {ours} key manager bundle (runtime {bundle.RuntimeId}), but the nodes run the {nodes} key manager ({runtimeId}): " +
                $"get the {nodes} build");
        if (runtimeId is not null && !string.Equals(bundle.RuntimeId, runtimeId, StringComparison.OrdinalIgnoreCase))
            return new(DeploymentErrorIds.BundleOtherRuntime, $"{FileName(bundle)} is a bundle of runtime {bundle.RuntimeId}, not of the nodes' key manager {runtimeId}");
        return null;
    }

    /// <summary>The text of a version with no deployment (the pre-flight's VersionNotDeployed).</summary>
    public static string NotDeployedText(OrcBundle bundle, RegistryRuntime runtime) =>
        $"version {bundle.Version} is not in the deployments of {runtime.Id} (deployed: " +
        string.Join(", ", runtime.Deployments.Select(d => $"{d.Version} from epoch {d.ValidFrom}")) + "); no node could run it";

    private static string DeployedText(RuntimeDeployment d) =>
        d.Enclaves.Count == 0 ? "it allows no enclave" : "it allows " + string.Join(", ", d.Enclaves.Select(e => e.Short));

    private static string FileName(OrcBundle bundle) => Path.GetFileName(bundle.Path);
}
