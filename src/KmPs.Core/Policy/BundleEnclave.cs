using System.Security.Cryptography;
using KmPs.Bundles;
using KmPs.Sgx;

namespace KmPs.Policy;

/// <summary>
/// The enclave identity of a key manager bundle, as the policy names it. The one place the policy
/// check, the pre-flight and the simulator take a bundle's identity from: MRENCLAVE is SHA-256 of
/// the RONL's whole <c>.sgxs</c> file (go/common/sgx MrEnclave.FromSgxs), MRSIGNER SHA-256 of the 384
/// modulus bytes at offset 128 of its SIGSTRUCT (go/common/sgx/sigstruct). It does not validate the
/// SIGSTRUCT (exponent, ENCLAVEHASH); reading a bundle's identity with every check is the bundle's own
/// job (OrcBundle), and once it carries the identity this returns that.
/// </summary>
public static class BundleEnclave
{
    /// <summary>Offset and length of the modulus in a SIGSTRUCT.</summary>
    private const int ModulusOffset = 128, ModulusLength = 384;

    /// <summary>The bundle's enclave identity, or null for a bundle without an SGX enclave and its signature.</summary>
    /// <exception cref="KmException">The bundle cannot be read (Bundle* ErrorIds).</exception>
    public static EnclaveIdentity? Of(OrcBundle bundle)
    {
        var sgx = bundle.Manifest.Ronl?.Sgx;
        if (string.IsNullOrEmpty(sgx?.Executable) || string.IsNullOrEmpty(sgx.Signature)) return null;
        var sigstruct = bundle.ReadFile(sgx.Signature);
        if (sigstruct.Length < ModulusOffset + ModulusLength) return null;
        return new EnclaveIdentity(SHA256.HashData(bundle.ReadFile(sgx.Executable)),
            SHA256.HashData(sigstruct.AsSpan(ModulusOffset, ModulusLength)));
    }
}
