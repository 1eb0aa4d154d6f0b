using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using KmPs.Core.Bundles;
using KmPs.Core.Sgx;

namespace KmPs.Core.Tests.Sgx;

/// <summary>SIGSTRUCT layout and verification (oasis-core go/common/sgx/sigstruct), .sgxs measurement, the simulated signer.</summary>
public class SigStructTests
{
    private static readonly string MrEnclave = Convert.ToHexString(SHA256.HashData("an enclave"u8)).ToLowerInvariant();

    private static byte[] Signed(ushort prod = 7, ushort svn = 3) => EnclaveSigner.Named().Sign(MrEnclave, prod, svn, new DateOnly(2024, 1, 15));

    private static string Fails(byte[] sigstruct, string errorId)
    {
        var e = Assert.Throws<SigStructException>(() => SigStruct.Verify(sigstruct));
        Assert.Equal(errorId, e.ErrorId);
        return e.Message;
    }

    [Fact]
    public void The_same_bytes_verify_the_same_and_a_kept_verdict_cannot_be_changed_by_its_caller()
    {
        var b = Signed(prod: 11);
        var first = SigStruct.Verify(b);
        first.Modulus[0] ^= 0xff;
        var again = SigStruct.Verify(b);
        Assert.Equal(b[128..512], again.Modulus);
        Assert.Equal(first.EnclaveHash, again.EnclaveHash);
        // A changed byte is verified afresh: it fails, twice alike.
        var tampered = (byte[])b.Clone();
        tampered[1024] ^= 1;
        Assert.Equal(Fails(tampered, BundleErrorIds.BundleSigstructSignatureInvalid), Fails(tampered, BundleErrorIds.BundleSigstructSignatureInvalid));
        Assert.Equal((ushort)11, SigStruct.Verify(b).IsvProdId);
    }

    [Fact]
    public void A_signed_SIGSTRUCT_has_every_field_at_its_offset()
    {
        var b = Signed();
        Assert.Equal(1808, b.Length);
        // HEADER, VENDOR (0: not Intel), DATE (BCD yyyymmdd, little-endian), HEADER2.
        Assert.Equal(new byte[] { 0x06, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0 }, b[0..16]);
        Assert.Equal(new byte[4], b[16..20]);
        Assert.Equal(new byte[] { 0x15, 0x01, 0x24, 0x20 }, b[20..24]);
        Assert.Equal(new byte[] { 0x01, 0x01, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 0x01, 0, 0, 0 }, b[24..40]);
        // MODULUS: 384 bytes little-endian, so its top bit is the last byte's; EXPONENT 3 as a u32.
        Assert.Equal(EnclaveSigner.Named().Modulus, b[128..512]);
        Assert.True((b[511] & 0x80) != 0);
        Assert.Equal(new byte[] { 3, 0, 0, 0 }, b[512..516]);
        // ENCLAVEHASH, ISVPRODID and ISVSVN (u16 little-endian).
        Assert.Equal(Convert.FromHexString(MrEnclave), b[960..992]);
        Assert.Equal(new byte[] { 7, 0, 3, 0 }, b[1024..1028]);

        var s = SigStruct.Verify(b);
        Assert.Equal(MrEnclave, s.EnclaveHash);
        Assert.Equal((ushort)7, s.IsvProdId);
        Assert.Equal((ushort)3, s.IsvSvn);
        Assert.Equal(new DateOnly(2024, 1, 15), s.BuildDate);
        Assert.Equal(3u, s.Exponent);
        // MRSIGNER: SHA-256 of the 384 modulus bytes as stored.
        Assert.Equal(Convert.ToHexString(SHA256.HashData(b[128..512])).ToLowerInvariant(), s.MrSigner);
        Assert.Equal(EnclaveSigner.Named().MrSigner, s.MrSigner);
    }

    [Fact]
    public void The_signature_is_RSA_PKCS1_SHA256_over_bytes_0_to_127_and_900_to_1027_with_Q1_Q2()
    {
        var b = Signed();
        using var rsa = RSA.Create();
        rsa.ImportParameters(new RSAParameters { Modulus = b[128..512].Reverse().ToArray(), Exponent = new byte[] { 3 } });
        Assert.True(rsa.VerifyData(b[0..128].Concat(b[900..1028]).ToArray(), b[516..900].Reverse().ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        var n = new System.Numerics.BigInteger(b[128..512], isUnsigned: true);
        var sig = new System.Numerics.BigInteger(b[516..900], isUnsigned: true);
        var q1 = sig * sig / n;
        Assert.Equal(q1, new System.Numerics.BigInteger(b[1040..1424], isUnsigned: true));
        Assert.Equal((sig * sig * sig - q1 * sig * n) / n, new System.Numerics.BigInteger(b[1424..1808], isUnsigned: true));
    }

    [Fact]
    public void One_signer_name_is_one_MRSIGNER_and_signing_is_deterministic()
    {
        Assert.Equal(Signed(), Signed());
        Assert.Equal(EnclaveSigner.Named().MrSigner, EnclaveSigner.Named(EnclaveSigner.DefaultName).MrSigner);
        Assert.NotEqual(EnclaveSigner.Named().MrSigner, EnclaveSigner.Named("another signer").MrSigner);
        Assert.Matches("^[0-9a-f]{64}$", EnclaveSigner.Named().MrSigner);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1807)]
    [InlineData(1809)]
    public void A_SIGSTRUCT_of_another_size_is_malformed(int size)
    {
        var b = new byte[size];
        Signed().AsSpan(0, Math.Min(size, 1808)).CopyTo(b);
        Assert.Contains($"it is {size} bytes, not 1808", Fails(b, "BundleSigstructMalformed"));
    }

    [Fact]
    public void A_modulus_of_fewer_than_3072_bits_is_malformed()
    {
        var b = Signed();
        b[511] &= 0x7f;
        Assert.Contains("not 3072 bits", Fails(b, "BundleSigstructMalformed"));
    }

    [Theory]
    [InlineData(65537u)]
    [InlineData(1u)]
    public void An_exponent_other_than_3_is_refused(uint exponent)
    {
        var b = Signed();
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(512), exponent);
        Assert.Contains($"exponent is {exponent}", Fails(b, "BundleSigstructExponent"));
    }

    [Theory]
    [InlineData(960)]   // ENCLAVEHASH: a signature moved onto another enclave
    [InlineData(1026)]  // ISVSVN
    [InlineData(20)]    // DATE
    [InlineData(24)]    // HEADER2: Verify does not compare it with the constant, but it is signed
    [InlineData(600)]   // the signature itself
    public void A_changed_signed_byte_breaks_the_signature(int offset)
    {
        var b = Signed();
        b[offset] ^= 0x01;
        Assert.Contains("does not verify", Fails(b, "BundleSigstructSignatureInvalid"));
    }

    [Fact]
    public void Changed_Q1_is_refused()
    {
        var b = Signed();
        b[1100] ^= 0x01;
        Assert.Contains("Q1/Q2", Fails(b, "BundleSigstructSignatureInvalid"));
    }

    [Fact]
    public void Reserved_bytes_outside_the_signed_ranges_are_not_checked_as_in_oasis_core()
    {
        var b = Signed();
        b[1030] ^= 0xff; // reserved, after ISVSVN: neither signed nor checked by Verify
        Assert.Equal(MrEnclave, SigStruct.Verify(b).EnclaveHash);
    }

    [Fact]
    public void MRENCLAVE_is_the_SHA256_of_the_whole_sgxs_file()
    {
        var sgxs = Sgxs.Build("enclave code"u8);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(sgxs)).ToLowerInvariant(), Sgxs.MrEnclave(sgxs));
        using var stream = new MemoryStream(sgxs);
        Assert.Equal(Sgxs.MrEnclave(sgxs), Sgxs.MrEnclave(stream));
        Assert.NotEqual(Sgxs.MrEnclave(sgxs), Sgxs.MrEnclave(Sgxs.Build("other code"u8)));
    }

    [Fact]
    public void A_built_sgxs_is_a_canonical_measurement_stream()
    {
        var code = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        var s = Sgxs.Build(code);
        // ECREATE + (TCS page + 2 code pages) × (EADD + 16 × (EEXTEND + 256 bytes)).
        Assert.Equal(64 + 3 * (64 + 16 * (64 + 256)), s.Length);
        Assert.Equal("ECREATE\0", Encoding.ASCII.GetString(s, 0, 8));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(8)));      // SSAFRAMESIZE
        Assert.Equal(16384ul, BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(12))); // SIZE: 3 pages, rounded up to a power of two
        var page = 64 + 16 * (64 + 256);
        for (var p = 0; p < 3; p++)
        {
            var at = 64 + p * page;
            Assert.Equal("EADD\0\0\0\0", Encoding.ASCII.GetString(s, at, 8));
            Assert.Equal((ulong)p * 4096, BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(at + 8)));
            Assert.Equal(p == 0 ? 0x100ul : 0x205ul, BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(at + 16))); // TCS; REG|R|X
            for (var c = 0; c < 16; c++)
            {
                var e = at + 64 + c * (64 + 256);
                Assert.Equal("EEXTEND\0", Encoding.ASCII.GetString(s, e, 8));
                Assert.Equal((ulong)(p * 4096 + c * 256), BinaryPrimitives.ReadUInt64LittleEndian(s.AsSpan(e + 8)));
            }
        }
        // The first code page's first 256 bytes are the code's.
        Assert.Equal(code[..256], s[(64 + page + 64 + 64)..(64 + page + 64 + 64 + 256)]);
    }

    [Fact]
    public void Package_gives_an_sgxs_and_a_SIGSTRUCT_that_signs_it()
    {
        var files = EnclaveSigner.Named().Package("km"u8, isvProdId: 1, isvSvn: 2);
        var s = SigStruct.Verify(files.SigStruct);
        Assert.Equal(Sgxs.MrEnclave(files.Sgxs), s.EnclaveHash);
        Assert.Equal(new EnclaveIdentity(Sgxs.MrEnclave(files.Sgxs), EnclaveSigner.Named().MrSigner), files.Identity);
        Assert.Equal(((ushort)1, (ushort)2), (s.IsvProdId, s.IsvSvn));
    }
}
