namespace KmPs.Core.LocalState;

/// <summary>
/// Mount points from /proc/self/mountinfo (field 5, octal escapes as the kernel writes them). A bind
/// mount of the same file system has the same device id as its parent, so comparing st_dev alone
/// misses it; the mount table lists every mount. Hand-written: .NET has no mount table API.
/// </summary>
public static class MountPoints
{
    private const string MountInfo = "/proc/self/mountinfo";

    /// <summary>The first mount point at <paramref name="folder"/> or below it, or null (also where there is no mount table).</summary>
    public static string? AtOrBelow(string folder)
    {
        if (!File.Exists(MountInfo)) return null;
        var root = folder.TrimEnd('/');
        foreach (var line in File.ReadLines(MountInfo))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            var mount = Unescape(fields[4]);
            if (mount == root || mount.StartsWith(root + "/", StringComparison.Ordinal)) return mount;
        }
        return null;
    }

    // The kernel escapes space, tab, newline and backslash as \ooo.
    internal static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s.Substring(i + 1, 3).All(c => c is >= '0' and <= '7'))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
