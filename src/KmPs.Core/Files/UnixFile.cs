using System.Runtime.InteropServices;

namespace KmPs.Core.Files;

/// <summary>
/// The few POSIX calls .NET lacks: a file's owner (statx, whose layout is the same on every Linux
/// architecture, unlike struct stat), chown, and fsync of a folder. Linux only; elsewhere owners are
/// left alone (oasis-node runs on Linux).
/// </summary>
internal static class UnixFile
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxUid = 0x8, StatxGid = 0x10;

    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>Owner and group of <paramref name="path"/> itself (a link is not followed).</summary>
    public static (uint Uid, uint Gid) Owner(string path)
    {
        var buffer = new byte[256];
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxUid | StatxGid, buffer) != 0)
            throw new IOException($"statx '{path}' failed: {Marshal.GetLastPInvokeErrorMessage()}");
        return (BitConverter.ToUInt32(buffer, 20), BitConverter.ToUInt32(buffer, 24));
    }

    /// <summary>Sets owner and group; false when not permitted (EPERM), as for a process that is not root.</summary>
    public static bool TryChown(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == 1) return false;
        throw new IOException($"chown '{path}' failed: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    public static uint EffectiveUid => geteuid();

    /// <summary>Makes a rename in <paramref name="folder"/> durable. Best effort: a failure here loses nothing already written.</summary>
    public static void SyncFolder(string folder)
    {
        var fd = open(folder, 0);
        if (fd < 0) return;
        fsync(fd);
        close(fd);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int chown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint uid, uint gid);

    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc")]
    private static extern int close(int fd);
}
