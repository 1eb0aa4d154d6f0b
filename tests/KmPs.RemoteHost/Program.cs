using System.Management.Automation.Runspaces;

// One script run with the module as another unix user, for the local safety tests.
//
//   dotnet KmPs.RemoteHost.dll --run <module folder> <script> [argument ...]
//
// Installs the module folder (the build output holding OasisKeyManager.psd1) under the name
// OasisKeyManager in a private modules folder put first on PSModulePath, runs the script in an
// engine with the module imported, prints "out: <text>" per output object and
// "error: <FullyQualifiedErrorId> <message>" per error, then exits. The tests start it under setpriv
// as an unprivileged user. (It once also served PSRP over the engine's named pipe as a stand-in
// remote machine; the remoting tests now use real SSH sessions, see tests/KmPs.Tests.Harness/SshMachines.cs.)

if (args.Length < 3 || args[0] != "--run" || !File.Exists(Path.Combine(args[1], "OasisKeyManager.psd1")))
{
    Console.Error.WriteLine("usage: KmPs.RemoteHost --run <folder holding OasisKeyManager.psd1> <script> [argument ...]");
    return 2;
}
args = args[1..];
var modules = Path.Combine(Path.GetTempPath(), $"kmrh-{Environment.ProcessId}");
try
{
    // A folder of this name was left by an earlier run with the same pid that was killed before its
    // cleanup: its link may point at another build.
    if (Directory.Exists(modules)) Directory.Delete(modules, recursive: true);
    Directory.CreateDirectory(modules);
    Directory.CreateSymbolicLink(Path.Combine(modules, "OasisKeyManager"), Path.GetFullPath(args[0]));
    var path = Environment.GetEnvironmentVariable("PSModulePath");
    Environment.SetEnvironmentVariable("PSModulePath", string.IsNullOrEmpty(path) ? modules : modules + Path.PathSeparator + path);

    var iss = InitialSessionState.CreateDefault2();
    iss.ImportPSModule(new[] { "OasisKeyManager" });
    using var runspace = RunspaceFactory.CreateRunspace(iss);
    runspace.Open();
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
finally
{
    try { Directory.Delete(modules, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}
