using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace KmPs.Tests.Harness;

/// <summary>
/// A real Badger database held open by another process, the way oasis-node holds
/// worker-local-storage.badger.db: a few lines of Go against Debian's Badger v2
/// (golang-github-dgraph-io-badger-dev), built once per machine into /tmp. The packages are
/// installed with apt-get when missing and this runs as root (as CI does; .ci/run installs them first).
/// </summary>
public sealed class RealBadger : IDisposable
{
    private const string Source = """
        package main

        // Opens a Badger database read-write, writes one key, says "open", and keeps it open until
        // its standard input closes: what a running oasis-node does with its local storage.
        import (
            "bufio"
            "fmt"
            "os"

            badger "github.com/dgraph-io/badger"
        )

        func main() {
            db, err := badger.Open(badger.DefaultOptions(os.Args[1]).WithLogger(nil))
            if err != nil {
                fmt.Println("error", err)
                os.Exit(1)
            }
            if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("master_secret"), []byte("sealed")) }); err != nil {
                fmt.Println("error", err)
                os.Exit(1)
            }
            if err := db.Sync(); err != nil {
                fmt.Println("error", err)
                os.Exit(1)
            }
            fmt.Println("open", os.Getpid())
            bufio.NewReader(os.Stdin).ReadString('\n')
            db.Close()
        }
        """;

    private const string GoPath = "/usr/share/gocode";
    private static readonly Lazy<string> Holder = new(Build);
    private readonly Process _process;

    public string Directory { get; }
    public int Pid => _process.Id;

    private RealBadger(string directory, Process process)
    {
        Directory = directory;
        _process = process;
    }

    /// <summary>Opens (creating when needed) the database in <paramref name="directory"/> in a Go process.</summary>
    public static RealBadger Open(string directory)
    {
        var psi = new ProcessStartInfo(Holder.Value, directory) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        var p = Process.Start(psi)!;
        var line = p.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("open ", StringComparison.Ordinal))
        {
            p.Kill();
            throw new InvalidOperationException($"the Badger holder did not open {directory}: {line}");
        }
        return new RealBadger(directory, p);
    }

    /// <summary>Closes the database as a node does on shutdown, and waits for the process.</summary>
    public void Dispose()
    {
        if (_process.HasExited) return;
        try { _process.StandardInput.Close(); } catch (IOException) { }
        if (!_process.WaitForExit(10_000)) _process.Kill();
        _process.Dispose();
    }

    private static string Build()
    {
        EnsurePackages();
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Source)))[..12];
        var dir = Path.Combine(Path.GetTempPath(), "kmps-badger-holder-" + hash);
        var exe = Path.Combine(dir, "holder");
        if (File.Exists(exe)) return exe;
        var src = Path.Combine(dir, "src");
        System.IO.Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "main.go"), Source);
        var tmp = exe + "." + Environment.ProcessId;
        var psi = new ProcessStartInfo("go", $"build -o {tmp} .") { WorkingDirectory = src, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["GOPATH"] = GoPath;
        psi.Environment["GO111MODULE"] = "off";
        psi.Environment["GOFLAGS"] = "";
        psi.Environment["GOCACHE"] = Path.Combine(dir, "cache");
        var (code, output) = Run(psi);
        if (code != 0) throw new InvalidOperationException($"go build of the Badger holder failed ({code}): {output}");
        File.Move(tmp, exe, overwrite: true);
        return exe;
    }

    private static void EnsurePackages()
    {
        if (File.Exists("/usr/bin/go") && System.IO.Directory.Exists(Path.Combine(GoPath, "src/github.com/dgraph-io/badger"))) return;
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
            throw new InvalidOperationException(
                "The real-Badger tests need Debian's golang-go and golang-github-dgraph-io-badger-dev; install them (.ci/run does, as root).");
        foreach (var args in new[] { "update -q", "install -y -q golang-go golang-github-dgraph-io-badger-dev" })
        {
            var psi = new ProcessStartInfo("apt-get", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            var (code, output) = Run(psi);
            if (code != 0) throw new InvalidOperationException($"apt-get {args} failed ({code}): {output}");
        }
    }

    private static (int Code, string Output) Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }
}

/// <summary>
/// util-linux's flock(1) holding an exclusive lock on a folder, the way Badger locks its database
/// directory: a second, independent implementation of the lock for tests that need no Go.
/// </summary>
public sealed class FlockHolder : IDisposable
{
    private readonly Process _process;

    public FlockHolder(string directory)
    {
        var psi = new ProcessStartInfo("flock", ["-x", "-n", directory, "sh", "-c", "echo locked; read x"])
        { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        _process = Process.Start(psi)!;
        var line = _process.StandardOutput.ReadLine();
        if (line != "locked") throw new InvalidOperationException($"flock did not lock {directory}: {line}");
    }

    public void Dispose()
    {
        try { _process.StandardInput.Close(); } catch (IOException) { }
        if (!_process.WaitForExit(5000)) _process.Kill();
        _process.Dispose();
    }
}
