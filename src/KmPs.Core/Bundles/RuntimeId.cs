using System.Buffers.Binary;
using KmPs.Core.Status;

namespace KmPs.Core.Bundles;

/// <summary>
/// oasis-core runtime ids (common.Namespace): 32 bytes, written as 64 hex digits. The first 8 bytes,
/// big-endian, are flags: bit 63 = test runtime, bit 62 = key manager; every other flag bit is
/// reserved and must be zero (go/common/namespace.go isValid).
/// </summary>
public static class RuntimeId
{
    public const int Size = 32;
    public const int HexLength = Size * 2;
    private const ulong TestFlag = 1UL << 63;
    private const ulong KeyManagerFlag = 1UL << 62;

    /// <summary>Parses and validates a hex runtime id; <paramref name="what"/> names it in errors.</summary>
    /// <exception cref="KmException">InvalidRuntimeId, saying what is wrong.</exception>
    public static byte[] Parse(string? text, string what = "runtime id")
    {
        var problem = Check(text, out var bytes);
        if (problem is not null)
            throw new KmException(BundleErrorIds.InvalidRuntimeId, KmErrorCategory.InvalidArgument, $"The {what} {problem}.", text)
            {
                RecommendedAction = "Give the runtime id as 64 hex digits, e.g. 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac.",
            };
        return bytes;
    }

    /// <summary>The validated id in lower-case hex, as oasis-core prints it.</summary>
    public static string Normalize(string? text, string what = "runtime id") => Hex.Encode(Parse(text, what))!;

    public static bool TryParse(string? text, out byte[] bytes) => Check(text, out bytes) is null;

    public static bool IsKeyManager(ReadOnlySpan<byte> id) => (Flags(id) & KeyManagerFlag) != 0;

    public static bool IsTest(ReadOnlySpan<byte> id) => (Flags(id) & TestFlag) != 0;

    public static bool IsKeyManager(string id) => IsKeyManager(Parse(id));

    public static bool IsTest(string id) => IsTest(Parse(id));

    /// <summary>True when only the defined flag bits are set (oasis-core rejects the rest as malformed).</summary>
    public static bool HasValidFlags(ReadOnlySpan<byte> id) => (Flags(id) & ~(TestFlag | KeyManagerFlag)) == 0;

    private static ulong Flags(ReadOnlySpan<byte> id) =>
        id.Length == Size ? BinaryPrimitives.ReadUInt64BigEndian(id) : throw new ArgumentException($"A runtime id has {Size} bytes, not {id.Length}.");

    private static string? Check(string? text, out byte[] bytes)
    {
        bytes = Array.Empty<byte>();
        if (string.IsNullOrWhiteSpace(text)) return "is empty";
        if (text.Length != HexLength)
            return $"'{text}' has {text.Length} characters; expected {HexLength} hex digits";
        for (var i = 0; i < text.Length; i++)
            if (!Uri.IsHexDigit(text[i]))
                return $"'{text}' has a non-hex character '{text[i]}' at position {i + 1}";
        bytes = Convert.FromHexString(text);
        if (!HasValidFlags(bytes))
            return $"'{text}' sets reserved flag bits in its first 8 bytes (only the test and key manager bits may be set)";
        return null;
    }
}
