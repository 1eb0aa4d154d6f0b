namespace KmPs.Tests.Support;

/// <summary>Unix permission bits in the forms people read and write them.</summary>
public static class UnixModes
{
    /// <summary>Permission bits as ls shows them, e.g. rw-r-----.</summary>
    public static string Mode(string path)
    {
        var mode = (int)File.GetUnixFileMode(path);
        return string.Concat(Enumerable.Range(0, 9).Select(i => (mode & (256 >> i)) != 0 ? "rwx"[i % 3] : '-'));
    }

    /// <summary>chmod with an octal mode such as "640".</summary>
    public static void SetMode(string path, string octal) => File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(octal, 8));
}
