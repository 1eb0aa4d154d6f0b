using KmPs.Core.Status;

namespace KmPs.Core.Bundles.Download;

/// <summary>The key manager runtime as a node's registry reports it (Registry/GetRuntime), and which node that was.</summary>
public sealed record ChainDeployments(RegistryRuntime Runtime, string Source);

/// <summary>
/// Whether a downloaded bundle is one the network deployed: <see cref="DeploymentCheck"/> (its version
/// deployed, its enclave identity in that deployment's <c>tee.enclaves</c>, a 25.0+ <c>bundle_checksum</c>
/// equal to its manifest hash). The one place Save-KmRuntimeBundle asks this.
/// </summary>
public static class DeploymentMatch
{
    /// <summary>The matching deployment, and how it was matched (for the output's VerifiedAgainst).</summary>
    /// <exception cref="KmException">BundleNotDeployed, or the deployment check's first ErrorId (EnclaveNotDeployed, BundleChecksumMismatch, ...).</exception>
    public static (RuntimeDeployment Deployment, string What) Verify(OrcBundle bundle, ChainDeployments chain, string shownAs)
    {
        var check = DeploymentCheck.Verify(bundle, chain.Runtime);
        if (check.Deployment is not { } d)
            throw DownloadErrors.NotDeployed(shownAs, bundle.Version, chain.Runtime.Id, chain.Source, chain.Runtime.Deployments);
        if (!check.Ok) throw DownloadErrors.NotTheDeployedBuild(shownAs, chain.Source, check.Problems);
        var identity = check.BundleIdentity is { } id && d.Enclaves.Contains(id) ? $"; enclave {id.Short} in its tee.enclaves" : "";
        var checksum = check.BundleChecksumVerified ? "; bundle_checksum is its manifest hash" : "";
        return (d, $"deployment {d.Version} (valid from epoch {d.ValidFrom}) read from {chain.Source}{identity}{checksum}");
    }
}
