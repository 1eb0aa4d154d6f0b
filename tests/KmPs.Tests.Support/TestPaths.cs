namespace KmPs.Tests.Support;

/// <summary>Where the built module and simulator live (artifacts/bin/&lt;project&gt;/&lt;config&gt;/).</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>"debug" or "release", the same as this test assembly was built with.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Name;

    public static string ModuleDir => Path.Combine(RepoRoot, "artifacts", "bin", "KmPs", Configuration);
    public static string ModuleManifest => Path.Combine(ModuleDir, "OasisKeyManager.psd1");
    public static string SandboxDll => Path.Combine(RepoRoot, "artifacts", "bin", "KmPs.Sandbox", Configuration, "KmPs.Sandbox.dll");
    public static string SimulatorDll => Path.Combine(RepoRoot, "artifacts", "bin", "KmPs.Simulator", Configuration, "KmPs.Simulator.dll");
    public static string RemoteHostDll => Path.Combine(RepoRoot, "artifacts", "bin", "KmPs.RemoteHost", Configuration, "KmPs.RemoteHost.dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "KmPs.sln"))) return dir.FullName;
        throw new InvalidOperationException("KmPs.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A short temp folder (unix socket paths must stay under 108 bytes), removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; }

    public TempDir(string prefix = "kmt")
    {
        Path = System.IO.Path.Combine("/tmp", $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(Path);
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
