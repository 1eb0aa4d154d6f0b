using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace KmPs.Core.Sgx;

/// <summary>
/// The SGX stream (.sgxs) format: the measurement blobs of ECREATE, EADD and EEXTEND (each a 64-byte
/// record starting with an 8-byte tag; an EEXTEND is followed by the 256 bytes it measures), so that
/// its SHA-256 is the enclave's MRENCLAVE (oasis-core go/common/sgx MrEnclave.FromSgxs hashes the
/// whole file). <see cref="Build"/> lays out a small canonical stream for simulated enclaves.
/// </summary>
public static class Sgxs
{
    public const int PageSize = 4096, RecordSize = 64, ExtendSize = 256;

    // SECINFO.FLAGS: R/W/X in bits 0-2, the page type in bits 8-15 (Intel SDM 37.11).
    private const ulong Read = 1, Write = 2, Execute = 4, PageTypeTcs = 1UL << 8, PageTypeReg = 2UL << 8;

    /// <summary>MRENCLAVE of an .sgxs file: the SHA-256 of all of it, lowercase hex.</summary>
    public static string MrEnclave(ReadOnlySpan<byte> sgxs) => Convert.ToHexString(SHA256.HashData(sgxs)).ToLowerInvariant();

    public static string MrEnclave(Stream sgxs) => Convert.ToHexString(SHA256.HashData(sgxs)).ToLowerInvariant();

    /// <summary>
    /// A canonical stream for an enclave whose code is <paramref name="code"/>: ECREATE (one SSA frame,
    /// the size rounded up to a power of two), a TCS page at offset 0, then the code in R|X pages,
    /// every page fully measured (16 EEXTENDs of 256 bytes; the last page padded with zeros).
    /// </summary>
    public static byte[] Build(ReadOnlySpan<byte> code)
    {
        var codePages = Math.Max(1, (code.Length + PageSize - 1) / PageSize);
        var size = (ulong)PageSize;
        while (size < (ulong)(codePages + 1) * PageSize) size <<= 1;
        using var s = new MemoryStream();
        Record(s, "ECREATE", r =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], 1); // SSAFRAMESIZE
            BinaryPrimitives.WriteUInt64LittleEndian(r[12..], size);
        });
        AddPage(s, 0, PageTypeTcs, ReadOnlySpan<byte>.Empty);
        for (var p = 0; p < codePages; p++)
        {
            var start = p * PageSize;
            var page = start < code.Length ? code[start..Math.Min(code.Length, start + PageSize)] : ReadOnlySpan<byte>.Empty;
            AddPage(s, (ulong)(p + 1) * PageSize, PageTypeReg | Read | Execute, page);
        }
        return s.ToArray();
    }

    private static void AddPage(Stream s, ulong offset, ulong flags, ReadOnlySpan<byte> content)
    {
        Record(s, "EADD", r =>
        {
            BinaryPrimitives.WriteUInt64LittleEndian(r[8..], offset);
            BinaryPrimitives.WriteUInt64LittleEndian(r[16..], flags); // SECINFO.FLAGS, then 40 reserved bytes
        });
        var page = new byte[PageSize];
        content.CopyTo(page);
        for (var chunk = 0; chunk < PageSize / ExtendSize; chunk++)
        {
            Record(s, "EEXTEND", r => BinaryPrimitives.WriteUInt64LittleEndian(r[8..], offset + (ulong)(chunk * ExtendSize)));
            s.Write(page, chunk * ExtendSize, ExtendSize);
        }
    }

    private delegate void Fill(Span<byte> record);

    private static void Record(Stream s, string tag, Fill fill)
    {
        Span<byte> r = stackalloc byte[RecordSize];
        r.Clear();
        Encoding.ASCII.GetBytes(tag, r);
        fill(r);
        s.Write(r);
    }
}
