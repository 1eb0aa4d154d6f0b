namespace KmPs.Core.Status;

/// <summary>A deployment of the KM runtime as Get-KmUpgradeEpoch shows it.</summary>
public sealed class KmDeployment
{
    public string RuntimeId { get; init; } = "";
    public string Version { get; init; } = "";
    /// <summary>The upgrade epoch: the version is active from this epoch on.</summary>
    public ulong ValidFrom { get; init; }
    public ulong CurrentEpoch { get; init; }
    public bool IsActive { get; init; }
    public bool Reached => CurrentEpoch >= ValidFrom;
    public ulong EpochsRemaining => Reached ? 0 : ValidFrom - CurrentEpoch;
    public string? BundleChecksum { get; init; }
    /// <summary>The enclave identities the deployment allows (its SGX constraints' enclaves).</summary>
    public IReadOnlyList<Sgx.EnclaveIdentity> Enclaves { get; init; } = System.Array.Empty<Sgx.EnclaveIdentity>();
}
