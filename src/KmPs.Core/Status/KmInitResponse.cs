using KmPs.Core.Wire;

namespace KmPs.Core.Status;

/// <summary>
/// The key manager enclave's signed init response, which a KM node registers as the
/// <c>extra_info</c> of its runtime: CBOR(SignedInitResponse{init_response, signature}).
/// 22.2 has is_secure, checksum and policy_checksum; 23.0+ adds next_checksum, rsk and next_rsk.
/// </summary>
public sealed class KmInitResponse
{
    public bool IsSecure { get; init; }
    /// <summary>Master secret checksum, lower-case hex (32 bytes).</summary>
    public string? Checksum { get; init; }
    public string? NextChecksum { get; init; }
    /// <summary>SHA3-256 of CBOR(SignedPolicySGX), lower-case hex.</summary>
    public string? PolicyChecksum { get; init; }
    /// <summary>Runtime signing key (23.0+), base64 like the CLI prints public keys.</summary>
    public string? Rsk { get; init; }
    public string? NextRsk { get; init; }
    /// <summary>RAK signature over CBOR(init_response), lower-case hex (64 bytes).</summary>
    public string? Signature { get; init; }

    /// <summary>Decodes the raw extra_info bytes.</summary>
    public static KmInitResponse FromExtraInfo(byte[] extraInfo)
    {
        if (extraInfo is null || extraInfo.Length == 0)
            throw new CborDecodeException("extra_info is empty: the node registered before its enclave finished initialising");
        var root = CborCodec.Decode(extraInfo).RequireMap("extra_info");
        var init = root["init_response"].RequireMap("init_response");
        return new KmInitResponse
        {
            IsSecure = init["is_secure"].Bool("init_response.is_secure"),
            Checksum = Hex.Encode(init["checksum"].Bytes("init_response.checksum")),
            NextChecksum = Hex.Encode(init["next_checksum"].Bytes("init_response.next_checksum")),
            PolicyChecksum = Hex.Encode(init["policy_checksum"].Bytes("init_response.policy_checksum")),
            Rsk = B64(init["rsk"].FixedBytes("init_response.rsk", 32)),
            NextRsk = B64(init["next_rsk"].FixedBytes("init_response.next_rsk", 32)),
            Signature = Hex.Encode(root["signature"].Bytes("signature")),
        };
    }

    /// <summary>Decodes base64 text as the CLI prints it (whitespace ignored).</summary>
    public static KmInitResponse FromBase64(string base64)
    {
        if (string.IsNullOrWhiteSpace(base64))
            throw new FormatException("extra_info text is empty");
        byte[] bytes;
        try { bytes = Convert.FromBase64String(string.Concat(base64.Where(c => !char.IsWhiteSpace(c)))); }
        catch (FormatException e) { throw new FormatException("extra_info is not valid base64: " + e.Message, e); }
        return FromExtraInfo(bytes);
    }

    private static string? B64(byte[]? b) => b is null ? null : Convert.ToBase64String(b);

    /// <summary>Builds extra_info bytes (the simulator's registration and test vectors).</summary>
    public static byte[] Encode(bool isSecure, byte[] checksum, byte[] policyChecksum, byte[] signature, byte[]? rsk = null)
    {
        var init = new CborMapBuilder()
            .Add("is_secure", CborNode.Bool(isSecure))
            .Add("checksum", CborNode.Bytes(checksum))
            .Add("policy_checksum", CborNode.Bytes(policyChecksum));
        if (rsk is not null) init.Add("rsk", CborNode.Bytes(rsk));
        var root = new CborMapBuilder()
            .Add("init_response", init.Build())
            .Add("signature", CborNode.Bytes(signature));
        return CborCodec.Encode(root.Build());
    }
}
