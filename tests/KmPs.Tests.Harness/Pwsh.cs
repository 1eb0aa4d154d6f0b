using System.Diagnostics;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>The pwsh the repository pins (dotnet-tools.json), restored once per test run as on a fresh machine.</summary>
public static class Pwsh
{
    private static readonly Lazy<(int Code, string Output)> Restore = new(() => Dotnet("tool", "restore"));

    /// <summary>Runs dotnet in the repository root; exit code and standard output followed by standard error.</summary>
    public static (int Code, string Output) Dotnet(params string[] args) => Dotnet(TimeSpan.FromMinutes(10), args);

    /// <summary>The same, killing the process tree when it runs past <paramref name="timeout"/> (a TimeoutException with its output).</summary>
    public static (int Code, string Output) Dotnet(TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = TestPaths.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not end within {timeout}:\n{output.Result}\n{err.Result}");
        }
        return (p.ExitCode, output.Result + err.Result);
    }

    /// <summary>Restores the pinned pwsh (once) and fails the test with dotnet's words if that does not work.</summary>
    public static void EnsureRestored()
    {
        var (code, output) = Restore.Value;
        Assert.True(code == 0, "dotnet tool restore failed: " + output);
    }

    /// <summary>Runs a script in a fresh `pwsh -NoProfile -NonInteractive` with these arguments (bound to its param block).</summary>
    public static (int Code, string Output) Run(string script, params string[] args)
    {
        EnsureRestored();
        var file = Path.Combine(Path.GetTempPath(), $"kmps-pwsh-{Guid.NewGuid():N}.ps1");
        File.WriteAllText(file, script);
        try { return Dotnet(new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", file }.Concat(args).ToArray()); }
        finally { File.Delete(file); }
    }
}
