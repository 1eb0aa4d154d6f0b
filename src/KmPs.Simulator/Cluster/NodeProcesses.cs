using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KmPs.Simulator.Cluster;

/// <summary>
/// Starts and stops simulated node processes in the background, with pid files, the way a
/// service manager would: start returns once the control socket exists; stop sends SIGTERM (or
/// asks the node to shut down through its control API) and returns once the process is gone.
/// </summary>
public static class NodeProcesses
{
    /// <summary>SIGTERM through libc: .NET's Process.Kill only sends SIGKILL, and a node must get the chance to clean up.</summary>
    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    private const int SigTerm = 15;

    public static string SimulatorDll(ClusterSpec spec) =>
        spec.SimulatorDll is { Length: > 0 } p && File.Exists(p) ? p : typeof(NodeProcesses).Assembly.Location;

    public static bool IsRunning(ClusterLayout layout, string node, out int pid)
    {
        pid = 0;
        var file = layout.PidFile(node);
        if (!File.Exists(file) || !int.TryParse(File.ReadAllText(file).Trim(), out pid)) return false;
        return IsAlive(pid);
    }

    public static bool IsAlive(int pid)
    {
        // An orphaned node that exited may linger as a zombie if PID 1 does not reap: that is dead.
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            if (state is "Z" or "X") return false;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { }
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Launches the node (unless running) and waits until its socket appears.</summary>
    public static int Start(ClusterLayout layout, string node, TimeSpan timeout)
    {
        if (IsRunning(layout, node, out var existing)) return existing;
        var socket = layout.SocketPath(node);
        var pid = Launch(layout, node);

        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (File.Exists(socket) || Path.Exists(socket)) return pid;
            if (!IsAlive(pid))
                throw new InvalidOperationException($"node {node} exited during startup: {Tail(layout.StdoutFile(node))}");
            Thread.Sleep(20);
        }
        throw new TimeoutException($"node {node} did not open {socket} within {timeout.TotalSeconds:0} s");
    }

    /// <summary>Launches `dotnet KmPs.Simulator.dll node ...` detached, output appended to stdout.log; returns its pid.</summary>
    public static int Launch(ClusterLayout layout, string node)
    {
        var spec = ClusterSpec.Load(layout);
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        // The node's own shell writes the pid file before it execs the node (same pid), so a start command
        // killed right after launching still leaves the node findable: a second start finds it running
        // instead of launching a second process on the same data dir.
        var cmd = $"echo $$ > {Q(layout.PidFile(node))}; exec {Q(dotnet)} {Q(SimulatorDll(spec))} node --cluster {Q(layout.Root)} --node {Q(node)} >> {Q(layout.StdoutFile(node))} 2>&1 < /dev/null";
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"(exec /bin/sh -c {Q(cmd)}) & echo $!");
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var sh = Process.Start(psi) ?? throw new InvalidOperationException("cannot start /bin/sh");
        var pid = int.Parse(sh.StandardOutput.ReadLine()!.Trim());
        sh.WaitForExit();
        return pid;
    }

    /// <summary>SIGTERM and wait for exit; SIGKILL after the timeout. Returns false if it was not running.</summary>
    public static bool Stop(ClusterLayout layout, string node, TimeSpan timeout)
    {
        if (!IsRunning(layout, node, out var pid)) return false;
        SysKill(pid, SigTerm);
        if (!WaitExit(pid, timeout))
        {
            try { using var p = Process.GetProcessById(pid); p.Kill(); } catch (ArgumentException) { }
            WaitExit(pid, TimeSpan.FromSeconds(5));
        }
        File.Delete(layout.PidFile(node));
        return true;
    }

    /// <summary>Kills without a chance to clean up (the socket file stays, like a crash).</summary>
    public static void Kill(ClusterLayout layout, string node)
    {
        if (!IsRunning(layout, node, out var pid)) return;
        try { using var p = Process.GetProcessById(pid); p.Kill(); } catch (ArgumentException) { }
        WaitExit(pid, TimeSpan.FromSeconds(5));
    }

    public static bool WaitExit(int pid, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (!IsAlive(pid)) return true;
            Thread.Sleep(20);
        }
        return !IsAlive(pid);
    }

    private static string Tail(string file)
    {
        try { return string.Join(" | ", File.ReadLines(file).TakeLast(5)); }
        catch (IOException) { return "(no output)"; }
    }

    private static string Q(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
