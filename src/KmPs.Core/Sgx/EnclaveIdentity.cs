using KmPs.Core.Wire;

namespace KmPs.Core.Sgx;

/// <summary>
/// An SGX enclave's identity as oasis-core names it (go/common/sgx EnclaveIdentity): MRENCLAVE, the
/// measurement of the enclave's pages, and MRSIGNER, the hash of its signer's key. Both are 32 bytes,
/// kept as lowercase hex so two identities compare by value. CBOR: a map {mr_enclave, mr_signer}
/// of byte strings; the policy's enclave map is keyed by that map itself.
/// </summary>
public sealed record EnclaveIdentity
{
    public string MrEnclave { get; }
    public string MrSigner { get; }

    [System.Text.Json.Serialization.JsonConstructor]
    public EnclaveIdentity(string mrEnclave, string mrSigner)
    {
        MrEnclave = Measurement(mrEnclave, "MRENCLAVE");
        MrSigner = Measurement(mrSigner, "MRSIGNER");
    }

    public EnclaveIdentity(byte[] mrEnclave, byte[] mrSigner)
        : this(Convert.ToHexString(mrEnclave), Convert.ToHexString(mrSigner)) { }

    /// <summary>First 8 hex digits of each half, for tables and messages that must fit 80 columns.</summary>
    public string Short => $"{MrEnclave[..8]}/{MrSigner[..8]}";

    /// <summary>MRENCLAVE‖MRSIGNER in hex, the form oasis-node's CLI prints.</summary>
    public override string ToString() => MrEnclave + MrSigner;

    public CborMap ToCbor() => new CborMapBuilder()
        .Add("mr_enclave", CborNode.Bytes(Convert.FromHexString(MrEnclave)))
        .Add("mr_signer", CborNode.Bytes(Convert.FromHexString(MrSigner)))
        .Build();

    /// <exception cref="CborDecodeException">Not a map with two 32-byte strings.</exception>
    public static EnclaveIdentity FromCbor(CborNode node, string what = "enclave identity")
    {
        if (node is not CborMap m) throw new CborDecodeException($"{what}: expected a map, found {node.Kind}");
        var e = m["mr_enclave"] as CborBytes ?? throw new CborDecodeException($"{what}: no mr_enclave bytes");
        var s = m["mr_signer"] as CborBytes ?? throw new CborDecodeException($"{what}: no mr_signer bytes");
        if (e.Value.Length != 32 || s.Value.Length != 32) throw new CborDecodeException($"{what}: mr_enclave and mr_signer must be 32 bytes each");
        return new EnclaveIdentity(e.Value, s.Value);
    }

    /// <summary>Parses the 128-hex-digit MRENCLAVE‖MRSIGNER form.</summary>
    public static EnclaveIdentity Parse(string text)
    {
        var t = text?.Trim() ?? "";
        if (!Status.Hex.TryDecode(t, 64, out _))
            throw new KmException(KmPs.Core.Bundles.BundleErrorIds.InvalidEnclaveIdentity, KmErrorCategory.InvalidArgument,
                $"'{text}' is not an enclave identity: expected 128 hex digits (MRENCLAVE then MRSIGNER).", text);
        return new EnclaveIdentity(t[..64], t[64..]);
    }

    private static string Measurement(string hex, string what) =>
        Status.Hex.TryDecode(hex, 32, out _)
            ? hex.ToLowerInvariant()
            : throw new ArgumentException($"{what} must be 32 bytes (64 hex digits), not '{hex}'.", nameof(hex));
}
