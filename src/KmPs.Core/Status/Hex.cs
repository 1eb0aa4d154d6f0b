namespace KmPs.Status;

/// <summary>Lower-case hex as oasis-core prints namespaces and hashes.</summary>
public static class Hex
{
    public static string? Encode(byte[]? bytes) => bytes is null ? null : Convert.ToHexString(bytes).ToLowerInvariant();

    public static bool TryDecode(string? text, int expectedLength, out byte[] bytes)
    {
        bytes = System.Array.Empty<byte>();
        if (text is null || text.Length != expectedLength * 2) return false;
        foreach (var c in text)
            if (!Uri.IsHexDigit(c)) return false;
        bytes = Convert.FromHexString(text);
        return true;
    }
}
