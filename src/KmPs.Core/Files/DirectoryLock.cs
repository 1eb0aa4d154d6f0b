using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace KmPs.Core.Files;

/// <summary>
/// The lock Badger holds on an open database: <c>flock(LOCK_EX|LOCK_NB)</c> on the database
/// DIRECTORY itself (badger <c>dir_unix.go</c> <c>acquireDirectoryLock</c>, v2 and v4; a read-only
/// open takes <c>LOCK_SH</c>). The <c>LOCK</c> file inside is only a pid file ("the pid file isn't part
/// of the locking mechanism, it's just advisory"). Taking the same lock is the one proof that no
/// process has the database open, whatever the node's control socket says.
/// Hand-written interop because .NET cannot open a directory as a handle (FileStream and
/// File.OpenHandle refuse directories) and has no flock.
/// </summary>
public sealed class DirectoryLock : IDisposable
{
    private const int LockEx = 2, LockNb = 4, LockUn = 8;
    private const int EWouldBlock = 11, EIntr = 4;
    private const int OCloexec = 0x80000;

    private readonly SafeFileHandle _handle;

    /// <summary>The locked directory.</summary>
    public string Path { get; }

    private DirectoryLock(string path, SafeFileHandle handle)
    {
        Path = path;
        _handle = handle;
    }

    /// <summary>Whether this platform has Badger's lock (Linux: oasis-node runs only there).</summary>
    public static bool Supported => OperatingSystem.IsLinux() && OpenFlags() is not null;

    /// <summary>
    /// Takes the exclusive lock on <paramref name="directory"/> without waiting (a link is not
    /// followed). Returns false, with the pid Badger wrote in its LOCK file when there is one, when
    /// another process holds the lock (shared or exclusive): the database is open.
    /// </summary>
    /// <exception cref="IOException">The directory cannot be opened (missing, not a directory, a link, no permission).</exception>
    public static bool TryAcquire(string directory, out DirectoryLock? held, out int? holderPid)
    {
        held = null;
        holderPid = null;
        var flags = OpenFlags() ?? throw new PlatformNotSupportedException("Badger's directory lock is only known on Linux (x86, x64, arm, arm64).");
        int fd;
        do fd = open(directory, flags); while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno == 13
                ? new UnauthorizedAccessException($"Cannot open '{directory}' to lock it: {Marshal.GetPInvokeErrorMessage(errno)}")
                : new IOException($"Cannot open '{directory}' to lock it: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
        var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        int rc;
        do rc = flock(fd, LockEx | LockNb); while (rc != 0 && Marshal.GetLastPInvokeError() == EIntr);
        if (rc == 0)
        {
            held = new DirectoryLock(directory, handle);
            return true;
        }
        var error = Marshal.GetLastPInvokeError();
        handle.Dispose();
        if (error != EWouldBlock) throw new IOException($"flock '{directory}' failed: {Marshal.GetPInvokeErrorMessage(error)}", error);
        holderPid = ReadPidFile(System.IO.Path.Combine(directory, "LOCK"));
        return false;
    }

    /// <summary>Badger's advisory pid file, when it is there and readable (for messages only).</summary>
    private static int? ReadPidFile(string path)
    {
        try { return int.TryParse(File.ReadAllText(path).Trim(), out var pid) ? pid : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    // O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC; the first two differ between architectures.
    private static int? OpenFlags() => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x10000 | 0x20000 | OCloexec,
        Architecture.Arm64 or Architecture.Arm => 0x4000 | 0x8000 | OCloexec,
        _ => null,
    };

    public void Dispose()
    {
        if (_handle.IsClosed) return;
        flock((int)_handle.DangerousGetHandle(), LockUn);
        _handle.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int flock(int fd, int operation);
}
