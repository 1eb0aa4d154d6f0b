using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using KmPs.Core.Bundles;

namespace KmPs.Core.Sgx;

/// <summary>A SIGSTRUCT that does not verify; <see cref="ErrorId"/> is one of the Bundle* ids in <see cref="BundleErrorIds"/>.</summary>
public sealed class SigStructException(string errorId, string message) : Exception(message)
{
    public string ErrorId { get; } = errorId;
}

/// <summary>
/// An SGX enclave SIGSTRUCT (Intel SDM 37.14), the 1808-byte <c>.sgx.sig</c> file of a bundle, read and
/// verified the way oasis-core's go/common/sgx/sigstruct Verify does: exactly 1808 bytes; a 3072-bit
/// modulus (little-endian at 128); exponent 3 (at 512); an RSA PKCS#1 v1.5 SHA-256 signature (at 516)
/// over bytes 0-127 and 900-1027; Q1 and Q2 (at 1040 and 1424) as derived from the signature; a BCD
/// build date (at 20). Like oasis-core, the HEADER, VENDOR and HEADER2 constants are not checked.
/// MRSIGNER is the SHA-256 of the 384 modulus bytes as stored (go/common/sgx MrSigner.FromPublicKey).
/// </summary>
public sealed record SigStruct
{
    public const int Size = 1808;
    public const int ModulusSize = 384;
    public const uint RequiredExponent = 3;

    // Offsets, go/common/sgx/sigstruct.
    internal const int HeaderOffset = 0, VendorOffset = 16, DateOffset = 20, Header2Offset = 24, SwDefinedOffset = 40;
    internal const int ModulusOffset = 128, ExponentOffset = 512, SignatureOffset = 516;
    internal const int MiscSelectOffset = 900, MiscSelectMaskOffset = 904, AttributesOffset = 928, AttributesMaskOffset = 944;
    internal const int EnclaveHashOffset = 960, IsvProdIdOffset = 1024, IsvSvnOffset = 1026, Q1Offset = 1040, Q2Offset = 1424;

    /// <summary>The modulus as stored: 384 bytes, little-endian.</summary>
    public required byte[] Modulus { get; init; }
    public uint Exponent { get; init; }
    public DateOnly BuildDate { get; init; }
    public uint MiscSelect { get; init; }
    public uint MiscSelectMask { get; init; }
    public ulong AttributesFlags { get; init; }
    public ulong AttributesXfrm { get; init; }
    /// <summary>ENCLAVEHASH: the MRENCLAVE the signer signed, lowercase hex.</summary>
    public required string EnclaveHash { get; init; }
    public ushort IsvProdId { get; init; }
    public ushort IsvSvn { get; init; }

    /// <summary>SHA-256 of the modulus bytes, lowercase hex.</summary>
    public string MrSigner => Convert.ToHexString(SHA256.HashData(Modulus)).ToLowerInvariant();

    /// <summary>Parses and verifies a SIGSTRUCT.</summary>
    /// <exception cref="SigStructException">BundleSigstructMalformed, BundleSigstructExponent or BundleSigstructSignatureInvalid.</exception>
    /// <remarks>
    /// A pure function of the bytes, so the verdicts of the last few distinct SIGSTRUCTs are kept: one
    /// upgrade opens its ORC for the plan, the pre-flight and every node's config change, and the RSA
    /// verification and the Q1/Q2 derivation were a fifth of opening it. Same bytes, same verdict
    /// (a kept record is immutable but for its modulus array, which is copied out).
    /// </remarks>
    public static SigStruct Verify(ReadOnlySpan<byte> buf)
    {
        lock (Verdicts)
        {
            foreach (var (bytes, verdict, error) in Verdicts)
                if (buf.SequenceEqual(bytes))
                    return verdict is not null ? verdict with { Modulus = (byte[])verdict.Modulus.Clone() } : throw new SigStructException(error!.ErrorId, error.Message);
        }
        SigStruct? result = null;
        SigStructException? failure = null;
        try { result = VerifyUncached(buf); }
        catch (SigStructException e) { failure = e; }
        lock (Verdicts)
        {
            if (Verdicts.Count == KeptVerdicts) Verdicts.RemoveAt(0);
            Verdicts.Add((buf.ToArray(), result is null ? null : result with { Modulus = (byte[])result.Modulus.Clone() }, failure));
        }
        return result ?? throw failure!;
    }

    private const int KeptVerdicts = 8;
    private static readonly List<(byte[] Bytes, SigStruct? Verdict, SigStructException? Error)> Verdicts = new();

    private static SigStruct VerifyUncached(ReadOnlySpan<byte> buf)
    {
        if (buf.Length != Size) throw WrongSize(buf.Length);
        var modulus = buf.Slice(ModulusOffset, ModulusSize);
        if ((modulus[ModulusSize - 1] & 0x80) == 0)
            throw Malformed($"its public key modulus is not {ModulusSize * 8} bits");
        var exponent = BinaryPrimitives.ReadUInt32LittleEndian(buf[ExponentOffset..]);
        if (exponent != RequiredExponent)
            throw new SigStructException(BundleErrorIds.BundleSigstructExponent,
                $"its public key exponent is {exponent}; an SGX signer key must have exponent {RequiredExponent}");

        var n = LittleEndian(modulus);
        var sig = LittleEndian(buf.Slice(SignatureOffset, ModulusSize));
        using (var rsa = RSA.Create())
        {
            rsa.ImportParameters(new RSAParameters { Modulus = BigEndian(n), Exponent = new byte[] { (byte)RequiredExponent } });
            if (!rsa.VerifyData(SignedBytes(buf), BigEndian(sig), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
                throw new SigStructException(BundleErrorIds.BundleSigstructSignatureInvalid,
                    "its RSA signature does not verify with its own public key (the file was changed after signing)");
        }
        var (q1, q2) = DeriveQ1Q2(sig, n);
        if (LittleEndian(buf.Slice(Q1Offset, ModulusSize)) != q1 || LittleEndian(buf.Slice(Q2Offset, ModulusSize)) != q2)
            throw new SigStructException(BundleErrorIds.BundleSigstructSignatureInvalid, "its Q1/Q2 values do not match its signature");

        var date = BinaryPrimitives.ReadUInt32LittleEndian(buf[DateOffset..]);
        if (!DateOnly.TryParseExact(date.ToString("x8", CultureInfo.InvariantCulture), "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var built))
            throw Malformed($"its build date 0x{date:x8} is not a BCD yyyymmdd date");

        return new SigStruct
        {
            Modulus = modulus.ToArray(),
            Exponent = exponent,
            BuildDate = built,
            MiscSelect = BinaryPrimitives.ReadUInt32LittleEndian(buf[MiscSelectOffset..]),
            MiscSelectMask = BinaryPrimitives.ReadUInt32LittleEndian(buf[MiscSelectMaskOffset..]),
            AttributesFlags = BinaryPrimitives.ReadUInt64LittleEndian(buf[AttributesOffset..]),
            AttributesXfrm = BinaryPrimitives.ReadUInt64LittleEndian(buf[(AttributesOffset + 8)..]),
            EnclaveHash = Convert.ToHexString(buf.Slice(EnclaveHashOffset, 32)).ToLowerInvariant(),
            IsvProdId = BinaryPrimitives.ReadUInt16LittleEndian(buf[IsvProdIdOffset..]),
            IsvSvn = BinaryPrimitives.ReadUInt16LittleEndian(buf[IsvSvnOffset..]),
        };
    }

    /// <summary>What the signature covers (hashForSignature): bytes 0-127, then MISCSELECT through ISVSVN.</summary>
    internal static byte[] SignedBytes(ReadOnlySpan<byte> buf) =>
        [.. buf[..ModulusOffset], .. buf[MiscSelectOffset..(IsvSvnOffset + 2)]];

    /// <summary>q1 = floor(sig² / N), q2 = floor((sig³ − q1·sig·N) / N) (deriveQ1Q2).</summary>
    internal static (BigInteger Q1, BigInteger Q2) DeriveQ1Q2(BigInteger sig, BigInteger n)
    {
        var q1 = BigInteger.Divide(sig * sig, n);
        var q2 = BigInteger.Divide(sig * sig * sig - q1 * sig * n, n);
        return (q1, q2);
    }

    internal static BigInteger LittleEndian(ReadOnlySpan<byte> le) => new(le, isUnsigned: true, isBigEndian: false);

    private static byte[] BigEndian(BigInteger v) => v.ToByteArray(isUnsigned: true, isBigEndian: true);

    /// <summary>The 384-byte little-endian form (sgx.To3072le with padding).</summary>
    internal static void WriteLittleEndian(BigInteger v, Span<byte> destination)
    {
        destination[..ModulusSize].Clear();
        if (!v.TryWriteBytes(destination[..ModulusSize], out _, isUnsigned: true, isBigEndian: false))
            throw new ArgumentException($"the value does not fit in {ModulusSize} bytes");
    }

    internal static SigStructException WrongSize(long length) => Malformed($"it is {length} bytes, not {Size}");

    private static SigStructException Malformed(string problem) => new(BundleErrorIds.BundleSigstructMalformed, problem);
}
