using KmPs.Core.Status;
using Org.BouncyCastle.Crypto.Digests;

namespace KmPs.Core.Bundles;

/// <summary>
/// SHA-512/256 (FIPS 180-4 truncated SHA-512 with its own IV), the hash oasis-core uses for bundle
/// digests and enclave identities. .NET has no SHA-512/256, so BouncyCastle's Sha512tDigest does it.
/// </summary>
public static class Sha512_256
{
    public const int Size = 32;

    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var digest = new Sha512tDigest(256);
        digest.BlockUpdate(data);
        return Finish(digest);
    }

    public static byte[] Hash(Stream stream)
    {
        var digest = new Sha512tDigest(256);
        var buffer = new byte[81920];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            digest.BlockUpdate(buffer, 0, n);
        return Finish(digest);
    }

    public static string HashHex(ReadOnlySpan<byte> data) => Hex.Encode(Hash(data))!;

    public static string HashHex(Stream stream) => Hex.Encode(Hash(stream))!;

    private static byte[] Finish(Sha512tDigest digest)
    {
        var output = new byte[Size];
        digest.DoFinal(output, 0);
        return output;
    }
}
