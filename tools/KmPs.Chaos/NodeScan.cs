using KmPs.Simulator.Cluster;

namespace KmPs.Chaos;

/// <summary>
/// Finds a simulated node's processes from /proc (command line "... node --cluster ROOT --node NAME"),
/// so "running" does not depend on the pid file the simulator keeps (a stopped start script may
/// never write it).
/// </summary>
public static class NodeScan
{
    public static List<int> Pids(ClusterLayout layout, string node)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] args;
            try { args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (!Matches(args, layout.Root, node)) continue;
            if (NodeProcesses.IsAlive(pid)) found.Add(pid);
        }
        return found;
    }

    public static bool IsRunning(ClusterLayout layout, string node) =>
        NodeProcesses.IsRunning(layout, node, out _) || Pids(layout, node).Count > 0;

    private static bool Matches(string[] args, string root, string node)
    {
        var verb = Array.IndexOf(args, "node");
        if (verb < 0) return false;
        var cluster = Array.IndexOf(args, "--cluster", verb);
        var name = Array.IndexOf(args, "--node", verb);
        return cluster > 0 && cluster + 1 < args.Length && args[cluster + 1] == root
               && name > 0 && name + 1 < args.Length && args[name + 1] == node;
    }
}
