using System.Text;

namespace KmPs.Core.Wire;

/// <summary>
/// Typed reads from the decoded tree with oasis-core's conventions: a missing key or null is the
/// zero value (Go's omitempty), and a wrong type is an error that names the field.
/// </summary>
public static class CborRead
{
    public static CborMap? Map(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return null;
        return node as CborMap ?? throw Wrong(field, "map", node);
    }

    public static CborMap RequireMap(this CborNode? node, string field) =>
        node.Map(field) ?? throw new CborDecodeException($"{field}: expected a map, found nothing");

    public static IReadOnlyList<CborNode> Array(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return System.Array.Empty<CborNode>();
        return node is CborArray a ? a.Items : throw Wrong(field, "array", node);
    }

    public static byte[]? Bytes(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return null;
        return node is CborBytes b ? b.Value : throw Wrong(field, "byte string", node);
    }

    /// <summary>A fixed-size byte string such as a 32-byte namespace, key or hash.</summary>
    public static byte[]? FixedBytes(this CborNode? node, string field, int length)
    {
        var b = node.Bytes(field);
        if (b is not null && b.Length != length)
            throw new CborDecodeException($"{field}: expected {length} bytes, found {b.Length}");
        return b;
    }

    public static string? Text(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return null;
        return node is CborText t ? t.Value : throw Wrong(field, "text string", node);
    }

    public static bool Bool(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return false;
        return node is CborBool b ? b.Value : throw Wrong(field, "bool", node);
    }

    public static ulong UInt(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return 0;
        return node is CborInteger i ? Checked(field, i.ToUInt64) : throw Wrong(field, "unsigned integer", node);
    }

    public static long Int(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return 0;
        return node is CborInteger i ? Checked(field, i.ToInt64) : throw Wrong(field, "integer", node);
    }

    /// <summary>Go time.Time: unix seconds, null (or absent) for the zero time.</summary>
    public static DateTimeOffset? Time(this CborNode? node, string field)
    {
        if (node is null || node.IsNull) return null;
        if (node is CborInteger i) return DateTimeOffset.FromUnixTimeSeconds(Checked(field, i.ToInt64));
        if (node is CborFloat f) return DateTimeOffset.FromUnixTimeMilliseconds((long)(f.Value * 1000));
        throw Wrong(field, "unix time", node);
    }

    private static T Checked<T>(string field, Func<T> read)
    {
        try { return read(); }
        catch (CborDecodeException e) { throw new CborDecodeException($"{field}: {e.Message}", e); }
    }

    private static CborDecodeException Wrong(string field, string expected, CborNode found) =>
        new($"{field}: expected a {expected}, found a {found.Kind}");
}
