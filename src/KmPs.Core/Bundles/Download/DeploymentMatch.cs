using KmPs.Status;

namespace KmPs.Bundles.Download;

/// <summary>The key manager runtime as a node's registry reports it (Registry/GetRuntime), and which node that was.</summary>
public sealed record ChainDeployments(RegistryRuntime Runtime, string Source);

/// <summary>
/// Whether a downloaded bundle is one the network deployed. The one place Save-KmRuntimeBundle asks
/// this, so the check can grow without touching the download.
/// </summary>
/// <remarks>
/// For now it checks only that the bundle's version has a deployment: the enclave identity
/// (MRENCLAVE/MRSIGNER in the deployment's <c>tee.enclaves</c>) and <c>bundle_checksum</c> come with
/// KmPs.Bundles.DeploymentCheck (issue 12), which replaces the body of <see cref="Verify"/>.
/// </remarks>
public static class DeploymentMatch
{
    /// <summary>The matching deployment, and how it was matched (for the output's VerifiedAgainst).</summary>
    /// <exception cref="KmException">BundleNotDeployed.</exception>
    public static (RuntimeDeployment Deployment, string What) Verify(OrcBundle bundle, ChainDeployments chain, string shownAs)
    {
        var d = chain.Runtime.Find(bundle.Version)
                ?? throw DownloadErrors.NotDeployed(shownAs, bundle.Version, chain.Runtime.Id, chain.Source, chain.Runtime.Deployments);
        return (d, $"deployment {d.Version} (valid from epoch {d.ValidFrom}) read from {chain.Source}; version only, enclave identity not checked");
    }
}
