using System.Globalization;
using KmPs.Core.Wire;

namespace KmPs.Core.Status;

/// <summary>
/// oasis-core version.Version: major.minor.patch, each uint16 and omitempty on the wire
/// (0.5.0 is encoded as {"minor":5}).
/// </summary>
public readonly record struct OasisVersion(ushort Major, ushort Minor, ushort Patch) : IComparable<OasisVersion>
{
    public override string ToString() => $"{Major}.{Minor}.{Patch}";

    public int CompareTo(OasisVersion other) =>
        (Major, Minor, Patch).CompareTo((other.Major, other.Minor, other.Patch));

    public static bool operator <(OasisVersion a, OasisVersion b) => a.CompareTo(b) < 0;
    public static bool operator >(OasisVersion a, OasisVersion b) => a.CompareTo(b) > 0;
    public static bool operator <=(OasisVersion a, OasisVersion b) => a.CompareTo(b) <= 0;
    public static bool operator >=(OasisVersion a, OasisVersion b) => a.CompareTo(b) >= 0;

    /// <summary>Parses "1.2.3", "1.2" or "1"; missing parts are 0.</summary>
    public static OasisVersion Parse(string text)
    {
        if (!TryParse(text, out var v))
            throw new FormatException($"'{text}' is not a version (expected major.minor.patch, e.g. 0.5.0)");
        return v;
    }

    public static bool TryParse(string? text, out OasisVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var parts = text.Trim().TrimStart('v').Split('.');
        if (parts.Length > 3) return false;
        var n = new ushort[3];
        for (var i = 0; i < parts.Length; i++)
            if (!ushort.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out n[i])) return false;
        version = new OasisVersion(n[0], n[1], n[2]);
        return true;
    }

    public static OasisVersion FromCbor(CborNode? node, string field = "version")
    {
        var map = node.Map(field);
        if (map is null) return default;
        return new OasisVersion(
            Part(map["major"], field + ".major"), Part(map["minor"], field + ".minor"), Part(map["patch"], field + ".patch"));
    }

    private static ushort Part(CborNode? n, string field)
    {
        var v = n.UInt(field);
        if (v > ushort.MaxValue) throw new CborDecodeException($"{field}: {v} does not fit in uint16");
        return (ushort)v;
    }

    /// <summary>Encodes with omitempty: zero parts are left out.</summary>
    public CborMap ToCbor()
    {
        var b = new CborMapBuilder();
        if (Major != 0) b.Add("major", CborNode.UInt(Major));
        if (Minor != 0) b.Add("minor", CborNode.UInt(Minor));
        if (Patch != 0) b.Add("patch", CborNode.UInt(Patch));
        return b.Build();
    }
}
