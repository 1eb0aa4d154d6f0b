using System.Diagnostics;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>
/// One script run with the module by another unix user, in a process of its own
/// (tests/KmPs.RemoteHost --run, started under setpriv): what an unprivileged user sees, for the
/// local safety tests. Nodes on other machines are tested over real SSH (<see cref="SshMachines"/>).
/// </summary>
public static class AsUser
{
    /// <summary>Runs one script with the module, as the unprivileged <paramref name="uid"/> (the test must be root); its output and error lines.</summary>
    public static (List<string> Output, List<string> Errors) Run(int uid, string script, params string[] args)
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
}
