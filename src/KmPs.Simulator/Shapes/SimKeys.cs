using System.Security.Cryptography;
using System.Text;

namespace KmPs.Simulator.Shapes;

/// <summary>Deterministic stand-ins for node keys and hashes: SHA-256 of a label.</summary>
public static class SimKeys
{
    public static byte[] Derive(string seed, string purpose, int length = 32)
    {
        var output = new byte[length];
        var counter = 0;
        for (var offset = 0; offset < length; offset += 32, counter++)
        {
            var block = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed}/{purpose}/{counter}"));
            Array.Copy(block, 0, output, offset, Math.Min(32, length - offset));
        }
        return output;
    }

    /// <summary>A libp2p peer id for an ed25519 key: identity multihash of the protobuf public key.</summary>
    public static byte[] PeerId(byte[] publicKey) =>
        new byte[] { 0x00, 0x24, 0x08, 0x01, 0x12, 0x20 }.Concat(publicKey).ToArray();
}
