using System.Diagnostics;
using System.Management.Automation.Runspaces;

namespace KmPs.Tests.Infrastructure;

/// <summary>
/// A second process standing in for a key manager host reached by PowerShell remoting
/// (tests/KmPs.RemoteHost: the engine with the module installed on its PSModulePath). Connect
/// opens a real PSRP session to it over the engine's named pipe listener, the same protocol
/// New-PSSession speaks over SSH; the listener takes one client at a time, so one session per host.
/// </summary>
public sealed class RemoteHost : IDisposable
{
    private readonly Process _process;
    private readonly List<PSSession> _sessions = new();

    public int Pid => _process.Id;
    /// <summary>The sessions opened by <see cref="Connect"/>.</summary>
    public IReadOnlyList<PSSession> Sessions => _sessions;

    private RemoteHost(Process process) => _process = process;

    public static async Task<RemoteHost> StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.ArgumentList.Add(TestPaths.RemoteHostDll);
        psi.ArgumentList.Add(TestPaths.ModuleDir);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start the remote host");
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
        {
            var err = await p.StandardError.ReadToEndAsync();
            p.Kill();
            throw new InvalidOperationException($"remote host did not start: {line} {err}");
        }
        return new RemoteHost(p);
    }

    /// <summary>Runs one script with the module, as the unprivileged <paramref name="uid"/> (the test must be root); its output and error lines.</summary>
    public static (List<string> Output, List<string> Errors) RunAs(int uid, string script, params string[] args)
    {
        var psi = new ProcessStartInfo("setpriv") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        var (hostDll, moduleDir) = Readable.Value;
        foreach (var a in new[] { $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--", "dotnet", hostDll, "--run", moduleDir, script })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var home = Path.Combine(Path.GetTempPath(), $"kmrh-home-{uid}");
        Directory.CreateDirectory(home);
        File.SetUnixFileMode(home, (UnixFileMode)0x1ff | UnixFileMode.StickyBit);
        psi.Environment["HOME"] = home;
        psi.Environment["DOTNET_CLI_HOME"] = home;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (!p.WaitForExit(120_000)) p.Kill();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the host run as uid {uid} failed ({p.ExitCode}): {err.Result}");
        return (lines.Where(l => l.StartsWith("out: ")).Select(l => l[5..]).ToList(), lines.Where(l => l.StartsWith("error: ")).Select(l => l[7..]).ToList());
    }

    /// <summary>
    /// The host and the module copied where any user can read them: the checkout may sit in a folder
    /// only root may enter (/root/...), which an unprivileged user could not even start from.
    /// </summary>
    private static readonly Lazy<(string HostDll, string ModuleDir)> Readable = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), $"kmrh-asuser-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        CopyTree(Path.GetDirectoryName(TestPaths.RemoteHostDll)!, Path.Combine(root, "host"));
        CopyTree(TestPaths.ModuleDir, Path.Combine(root, "module"));
        File.SetUnixFileMode(root, (UnixFileMode)0x1ed);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return (Path.Combine(root, "host", Path.GetFileName(TestPaths.RemoteHostDll)), Path.Combine(root, "module"));
    });

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        File.SetUnixFileMode(to, (UnixFileMode)0x1ed); // 0755
        foreach (var f in Directory.EnumerateFiles(from))
        {
            var target = Path.Combine(to, Path.GetFileName(f));
            File.Copy(f, target);
            File.SetUnixFileMode(target, (UnixFileMode)0x1a4); // 0644
        }
        foreach (var d in Directory.EnumerateDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }

    public static async Task<RemoteHost[]> StartManyAsync(int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => StartAsync()));

    /// <summary>A PSSession over the host's named pipe, usable with Invoke-Command -Session and New-KmNode -Session.</summary>
    public PSSession Connect()
    {
        var runspace = RunspaceFactory.CreateRunspace(new NamedPipeConnectionInfo(_process.Id), null, TypeTable.LoadDefaultTypeFiles());
        runspace.Open();
        var session = PSSession.Create(runspace, "NamedPipe", null);
        _sessions.Add(session);
        return session;
    }

    /// <summary>The machine "goes away": the process dies at once and every session to it breaks.</summary>
    public void Kill()
    {
        try { _process.Kill(entireProcessTree: false); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
    }

    public bool HasExited => _process.HasExited;

    public void Dispose()
    {
        foreach (var s in _sessions)
        {
            try { s.Runspace.Dispose(); } catch (Exception) { }
        }
        try { _process.StandardInput.Close(); } catch (Exception) { }
        if (!_process.WaitForExit(5_000)) Kill();
        _process.Dispose();
    }
}
