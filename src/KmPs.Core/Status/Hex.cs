namespace KmPs.Core.Status;

/// <summary>Lower-case hex as oasis-core prints namespaces and hashes.</summary>
public static class Hex
{
    public static string? Encode(byte[]? bytes) => bytes is null ? null : Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>The first 16 hex digits and an ellipsis, for messages; short or null input as is.</summary>
    public static string Short(string? hex) => hex is null ? "(none)" : hex.Length > 16 ? hex[..16] + "…" : hex;

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
