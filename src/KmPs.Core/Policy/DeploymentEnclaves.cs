using KmPs.Sgx;
using KmPs.Status;
using KmPs.Wire;

namespace KmPs.Policy;

/// <summary>
/// The enclave identities a deployment allows: its <c>tee</c> is CBOR SGXConstraints
/// (go/common/node/sgx.go; <c>enclaves</c> in the unversioned 22.2 form and in "v": 1). The nodes
/// registered with a version run one of these enclaves (the registry verifies their attestation
/// against them), so they are what the policy check takes as the current nodes' identity. A stand-in
/// for the deployments' own reading of <c>tee</c> (the deployment check): when that lands, use it.
/// </summary>
public static class DeploymentEnclaves
{
    /// <summary>The identities in the deployment's TEE constraints; empty without a readable <c>tee</c>.</summary>
    public static IReadOnlyList<EnclaveIdentity> Of(RuntimeDeployment? deployment)
    {
        if (deployment?.Tee is not { Length: > 0 } tee) return System.Array.Empty<EnclaveIdentity>();
        try
        {
            return CborCodec.Decode(tee).RequireMap("tee")["enclaves"].Array("tee.enclaves")
                .Select((e, i) => EnclaveIdentity.FromCbor(e, $"tee.enclaves[{i}]")).ToArray();
        }
        catch (CborDecodeException) { return System.Array.Empty<EnclaveIdentity>(); }
    }
}
