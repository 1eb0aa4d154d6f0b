using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Text;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Prng;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace KmPs.Core.Sgx;

/// <summary>An enclave's two bundle files and the identity they give.</summary>
public sealed record SgxEnclaveFiles(byte[] Sgxs, byte[] SigStruct)
{
    public EnclaveIdentity Identity => new(Sgx.Sgxs.MrEnclave(Sgxs), Sgx.SigStruct.Verify(SigStruct).MrSigner);
}

/// <summary>
/// Signs simulated enclaves the way a build's signer would (oasis-core go/common/sgx/sigstruct Sign):
/// an RSA-3072 key with exponent 3, derived deterministically from a signer name so that one name
/// always has one MRSIGNER, and a SIGSTRUCT whose ENCLAVEHASH is the enclave's MRENCLAVE. For the
/// simulator and tests: the key is as secret as its name.
/// </summary>
public sealed class EnclaveSigner
{
    /// <summary>The signer of the simulator's key manager builds.</summary>
    public const string DefaultName = "oasis-simulated-km-signer";

    // Fields of toUnsigned(): HEADER, VENDOR (non-Intel), HEADER2.
    private static readonly byte[] Header = [0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0];
    private static readonly byte[] Header2 = [0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0];
    private static readonly DateOnly DefaultDate = new(2025, 1, 1);
    private static readonly ConcurrentDictionary<string, Lazy<EnclaveSigner>> Signers = new();

    private readonly RsaPrivateCrtKeyParameters _key;

    public string Name { get; }
    /// <summary>The modulus as a SIGSTRUCT stores it: 384 bytes, little-endian.</summary>
    public byte[] Modulus { get; }
    public string MrSigner => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Modulus)).ToLowerInvariant();

    private EnclaveSigner(string name)
    {
        Name = name;
        // A SHA-256 DRBG seeded with the name: the same name gives the same key pair every time.
        var random = new DigestRandomGenerator(new Sha256Digest());
        random.AddSeedMaterial(Encoding.UTF8.GetBytes("kmps/sgx-signer/" + name));
        var generator = new RsaKeyPairGenerator();
        generator.Init(new RsaKeyGenerationParameters(Org.BouncyCastle.Math.BigInteger.Three, new SecureRandom(random), SigStruct.ModulusSize * 8, 64));
        _key = (RsaPrivateCrtKeyParameters)generator.GenerateKeyPair().Private;
        Modulus = new byte[SigStruct.ModulusSize];
        SigStruct.WriteLittleEndian(new BigInteger(_key.Modulus.ToByteArrayUnsigned(), isUnsigned: true, isBigEndian: true), Modulus);
    }

    /// <summary>The signer of that name (generating a key takes about a second; each name is made once a process).</summary>
    public static EnclaveSigner Named(string name = DefaultName) =>
        Signers.GetOrAdd(name, n => new Lazy<EnclaveSigner>(() => new EnclaveSigner(n))).Value;

    /// <summary>A signed SIGSTRUCT for the enclave measured as <paramref name="mrEnclave"/> (hex).</summary>
    public byte[] Sign(string mrEnclave, ushort isvProdId = 0, ushort isvSvn = 0, DateOnly? buildDate = null)
    {
        if (!Status.Hex.TryDecode(mrEnclave, 32, out var enclaveHash))
            throw new ArgumentException($"MRENCLAVE must be 32 bytes (64 hex digits), not '{mrEnclave}'.", nameof(mrEnclave));
        var buf = new byte[SigStruct.Size];
        Header.CopyTo(buf, SigStruct.HeaderOffset);
        var date = buildDate ?? DefaultDate;
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(SigStruct.DateOffset),
            uint.Parse(date.ToString("yyyyMMdd", CultureInfo.InvariantCulture), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        Header2.CopyTo(buf, SigStruct.Header2Offset);
        // MISCSELECT/MASK 0; ATTRIBUTES: MODE64BIT (0x4), XFRM legacy x87|SSE (0x3); masks as Fortanix's tools write them.
        BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(SigStruct.AttributesOffset), 0x4);
        BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(SigStruct.AttributesOffset + 8), 0x3);
        BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(SigStruct.AttributesMaskOffset), ~0x2UL);
        BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(SigStruct.AttributesMaskOffset + 8), 0x3);
        enclaveHash!.CopyTo(buf, SigStruct.EnclaveHashOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(SigStruct.IsvProdIdOffset), isvProdId);
        BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(SigStruct.IsvSvnOffset), isvSvn);

        var signer = new RsaDigestSigner(new Sha256Digest());
        signer.Init(true, _key);
        var signed = SigStruct.SignedBytes(buf);
        signer.BlockUpdate(signed, 0, signed.Length);
        var sig = new BigInteger(signer.GenerateSignature(), isUnsigned: true, isBigEndian: true);
        var n = SigStruct.LittleEndian(Modulus);
        var (q1, q2) = SigStruct.DeriveQ1Q2(sig, n);
        Modulus.CopyTo(buf, SigStruct.ModulusOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(SigStruct.ExponentOffset), SigStruct.RequiredExponent);
        SigStruct.WriteLittleEndian(sig, buf.AsSpan(SigStruct.SignatureOffset));
        SigStruct.WriteLittleEndian(q1, buf.AsSpan(SigStruct.Q1Offset));
        SigStruct.WriteLittleEndian(q2, buf.AsSpan(SigStruct.Q2Offset));
        return buf;
    }

    /// <summary>The .sgxs of <paramref name="code"/> (<see cref="Sgxs.Build"/>) and its signed SIGSTRUCT.</summary>
    public SgxEnclaveFiles Package(ReadOnlySpan<byte> code, ushort isvProdId = 0, ushort isvSvn = 0)
    {
        var sgxs = Sgxs.Build(code);
        return new SgxEnclaveFiles(sgxs, Sign(Sgxs.MrEnclave(sgxs), isvProdId, isvSvn));
    }
}
