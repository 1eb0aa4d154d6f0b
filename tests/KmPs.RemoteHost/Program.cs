using System.Management.Automation.Runspaces;

// A "remote machine" for the remoting tests.
//
//   dotnet KmPs.RemoteHost.dll <module folder>
//
// Installs the module folder (the build output holding OasisKeyManager.psd1) under the name
// OasisKeyManager in a private modules folder put first on PSModulePath, so `Import-Module
// OasisKeyManager` in a session finds it as on a host where the module is installed. Then opens a
// runspace (which starts the engine's PSRP named pipe listener), prints "ready <pid>" and serves
// until standard input closes (the test process ended or disposed it), or until it is killed.
// A session's own runspace is created by the engine for each client (default session state).

//
//   dotnet KmPs.RemoteHost.dll --run <module folder> <script> [argument ...]
//
// Runs one script with the module installed the same way, printing "out: <text>" per output object
// and "error: <FullyQualifiedErrorId> <message>" per error, then exits: the module used by another
// user on its own machine (the tests start it under setpriv as an unprivileged user; PSRP's named
// pipe listener only serves clients of its own user, so a root test process cannot connect to it).

var run = args.Length >= 3 && args[0] == "--run";
if (run) args = args[1..];
if ((!run && args.Length != 1) || !File.Exists(Path.Combine(args[0], "OasisKeyManager.psd1")))
{
    Console.Error.WriteLine("usage: KmPs.RemoteHost [--run] <folder holding OasisKeyManager.psd1> [script [argument ...]]");
    return 2;
}
var modules = Path.Combine(Path.GetTempPath(), $"kmrh-{Environment.ProcessId}");
try
{
    // A folder of this name was left by an earlier host with the same pid that was killed before its
    // cleanup: its link may point at another build (which the module's handshake then rightly refuses).
    if (Directory.Exists(modules)) Directory.Delete(modules, recursive: true);
    Directory.CreateDirectory(modules);
    var installed = Path.Combine(modules, "OasisKeyManager");
    Directory.CreateSymbolicLink(installed, Path.GetFullPath(args[0]));
    var path = Environment.GetEnvironmentVariable("PSModulePath");
    Environment.SetEnvironmentVariable("PSModulePath", string.IsNullOrEmpty(path) ? modules : modules + Path.PathSeparator + path);

    // The module is also imported here once, so its assemblies are loaded and compiled before the
    // first session imports it (a warm host; the tests' sessions still import it themselves).
    var iss = InitialSessionState.CreateDefault2();
    iss.ImportPSModule(new[] { "OasisKeyManager" });
    using var runspace = RunspaceFactory.CreateRunspace(iss);
    runspace.Open();
    if (run)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(args[1]);
        foreach (var a in args[2..]) ps.AddArgument(a);
        try
        {
            foreach (var o in ps.Invoke()) Console.WriteLine("out: " + o);
        }
        catch (System.Management.Automation.RuntimeException e)
        {
            Console.WriteLine($"error: {e.ErrorRecord.FullyQualifiedErrorId} {e.Message.ReplaceLineEndings(" ")}");
        }
        foreach (var e in ps.Streams.Error) Console.WriteLine($"error: {e.FullyQualifiedErrorId} {e.Exception.Message.ReplaceLineEndings(" ")}");
        return 0;
    }
    Console.WriteLine($"ready {Environment.ProcessId}");
    Console.Out.Flush();
    Console.In.ReadToEnd();
    return 0;
}
finally
{
    try { Directory.Delete(modules, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}
