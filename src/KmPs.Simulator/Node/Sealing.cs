using System.Security.Cryptography;
using System.Text;
using KmPs.Core.Sgx;

namespace KmPs.Simulator.Node;

/// <summary>
/// Simulated SGX sealing: the master secret is encrypted (AES-GCM) with a key derived from the
/// enclave's MRENCLAVE and the node's CPU identity, so only the same enclave on the same CPU can read
/// it back, as with egetkey(KEYPOLICY.MRENCLAVE). The MRENCLAVE that sealed is kept in clear in the
/// header (like badger's metadata), which lets the node tell "new enclave" from "other CPU" in its
/// log; neither can unseal.
/// </summary>
public static class Sealing
{
    public const string SealedFileName = "000001.vlog";
    private static readonly byte[] Magic = "KMSEAL1\n"u8.ToArray();

    public enum UnsealResult { Ok, NoState, OtherEnclave, OtherCpu, Corrupt }

    private static byte[] Key(EnclaveIdentity enclave, byte[] cpu) =>
        SHA256.HashData(Encoding.UTF8.GetBytes("kmsim/seal/" + enclave.MrEnclave).Concat(cpu).ToArray());

    /// <summary>Writes the sealed secret into the badger folder (created like badger would).</summary>
    public static void Seal(string storageDir, EnclaveIdentity enclave, byte[] cpu, byte[] secret)
    {
        Directory.CreateDirectory(storageDir);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var tag = new byte[16];
        var cipher = new byte[secret.Length];
        using (var aes = new AesGcm(Key(enclave, cpu), 16)) aes.Encrypt(nonce, secret, cipher, tag);
        var header = Encoding.ASCII.GetBytes(enclave.MrEnclave);
        var blob = Magic.Concat(header).Concat(nonce).Concat(tag).Concat(cipher).ToArray();
        File.WriteAllText(Path.Combine(storageDir, "MANIFEST"), "badger (simulated by KmPs.Simulator)\n");
        var tmp = Path.Combine(storageDir, SealedFileName + ".tmp");
        File.WriteAllBytes(tmp, blob);
        File.Move(tmp, Path.Combine(storageDir, SealedFileName), overwrite: true);
    }

    public static bool HasState(string storageDir) => File.Exists(Path.Combine(storageDir, SealedFileName));

    public static UnsealResult TryUnseal(string storageDir, EnclaveIdentity enclave, byte[] cpu, out byte[] secret)
    {
        secret = Array.Empty<byte>();
        var file = Path.Combine(storageDir, SealedFileName);
        if (!File.Exists(file)) return UnsealResult.NoState;
        var blob = File.ReadAllBytes(file);
        const int headerLen = 8 + 64 + 12 + 16;
        if (blob.Length <= headerLen || !blob.AsSpan(0, 8).SequenceEqual(Magic)) return UnsealResult.Corrupt;
        var sealedBy = Encoding.ASCII.GetString(blob, 8, 64).Trim();
        var nonce = blob.AsSpan(72, 12);
        var tag = blob.AsSpan(84, 16);
        var cipher = blob.AsSpan(headerLen);
        var plain = new byte[cipher.Length];
        try
        {
            using var aes = new AesGcm(Key(enclave, cpu), 16);
            aes.Decrypt(nonce, cipher, tag, plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            return sealedBy == enclave.MrEnclave ? UnsealResult.OtherCpu : UnsealResult.OtherEnclave;
        }
        secret = plain;
        return UnsealResult.Ok;
    }

    /// <summary>The master secret checksum that init responses and the consensus status carry.</summary>
    public static byte[] Checksum(byte[] secret) => SHA256.HashData(Encoding.UTF8.GetBytes("kmsim/checksum").Concat(secret).ToArray());
}
