using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Core.Inventory;
using KmPs.Simulator.Cluster;
using KmPs.Tests.Harness;
using KmPs.Tests.Support;

// Get-KmStatus over real SSH remoting, from a hosted PowerShell 7.6 engine on the admin host:
// 8 simulated nodes, each on its own SSH "machine" (an unprivileged user of a private sshd on
// 127.0.0.1, as in the tests), against 1 node on 1 machine. Twice: 8 machines with 8 logins (8 users,
// one New-PSSession each) and 8 machines with one login (one user, 8 host names: one New-PSSession
// for all, as with an "oasis" user on every host).
//
//   dotnet run -c Release --project tools/KmPs.SshBenchmark [-- --rounds N --warm N]     (as root)
//
// Per round and inventory, with new sessions (a new pwsh on every machine):
//   import   Import-KmNode of the inventory: opens the sessions, completes each node on its machine;
//   first    the first Get-KmStatus on those sessions;
//   warm     later Get-KmStatus calls on the same sessions (median of --warm calls).
// Goals (issue 11): 8-node first call < 1.5x the 1-node one; warm < 100 ms.

var rounds = Arg("--rounds", 3);
var warmCalls = Arg("--warm", 20);
const int Machines = 8;

Console.WriteLine($"SSH benchmark: {Machines} nodes on {Machines} SSH machines vs 1; {rounds} rounds, {warmCalls} warm calls each; " +
                  $"{Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
// Machines 1-8 log in as 8 users; machine 9's user stands for "one login (oasis) on 8 hosts": its 8 nodes have 8 host names.
using var ssh = SshMachines.Start(Machines + 1);
var clusters = new List<ClusterLayout>();
try
{
    var sw = Stopwatch.StartNew();
    var eightLogins = await StartCluster(i => ssh.Machines[i]);
    var oneLogin = await StartCluster(i => ssh.Machines[Machines] with { HostName = $"h{i + 1}.kmssh.test" });
    Console.WriteLine($"2 clusters of {Machines} nodes started over ssh, each node as its machine's user, all ready: {sw.Elapsed.TotalSeconds:0.0} s");
    var root = clusters[0].Root;
    var inventories = new (string Label, string Path)[]
    {
        ("1 machine", Write("inventory-1.json", eightLogins.Take(1))),
        ($"{Machines} machines, {Machines} logins", Write("inventory-8.json", eightLogins)),
        ($"{Machines} machines, 1 login", Write("inventory-8-one-login.json", oneLogin)),
    };
    string Write(string name, IEnumerable<KmNode> nodes)
    {
        var path = Path.Combine(root, name);
        File.WriteAllText(path, InventoryFile.ToJson(nodes));
        return path;
    }

    using var engine = new Engine();
    var uids = ssh.Machines.Select(x => x.Uid).ToHashSet();
    Measure(engine, inventories[0].Path, 2, uids); // warm-up of the admin side: engine, module, SSH transport
    var results = inventories.ToDictionary(x => x.Label, _ => new List<Figures>());
    for (var r = 1; r <= rounds; r++)
        foreach (var (label, inventory) in inventories)
        {
            var f = Measure(engine, inventory, warmCalls, uids);
            results[label].Add(f);
            Console.WriteLine($"  round {r}, {label,-24} import {f.Import,6:0} ms (cpu {f.ImportCpu,5:0})   first Get-KmStatus {f.First,5:0} ms (cpu {f.FirstCpu,5:0})   " +
                              $"warm {f.Warm,5:0.0} ms (cpu {f.WarmCpu,5:0.0}, admin {f.WarmAdminCpu,5:0.0})");
        }

    static double Median(IEnumerable<double> v) { var s = v.OrderBy(x => x).ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
    Figures Medians(List<Figures> l) => new(Median(l.Select(x => x.Import)), Median(l.Select(x => x.ImportCpu)), Median(l.Select(x => x.First)),
        Median(l.Select(x => x.FirstCpu)), Median(l.Select(x => x.Warm)), Median(l.Select(x => x.WarmCpu)), Median(l.Select(x => x.WarmAdminCpu)));
    var one = Medians(results[inventories[0].Label]);
    Console.WriteLine();
    Console.WriteLine($"medians over {rounds} rounds (ms; x = ratio to 1 machine)  import (sessions)     first Get-KmStatus   import + first       warm Get-KmStatus   warm cpu/call (admin)");
    foreach (var (label, _) in inventories)
    {
        var m = Medians(results[label]);
        Console.WriteLine($"  {label,-26}                {m.Import,6:0} {m.Import / one.Import,5:0.00}x       {m.First,6:0} {m.First / one.First,5:0.00}x      " +
                          $"{m.Import + m.First,6:0} {(m.Import + m.First) / (one.Import + one.First),5:0.00}x      {m.Warm,6:0.0} {m.Warm / one.Warm,5:0.00}x     {m.WarmCpu,6:0.0} ({m.WarmAdminCpu,5:0.0})");
    }
    Console.WriteLine("goals (issue 11): 8 machines' first call < 1.5x one machine's; warm call < 100 ms.");
    Console.WriteLine($"cpu: CPU time of this process and of the machines' users' processes; all machines share these {Environment.ProcessorCount} cores.");
    return 0;
}
finally
{
    foreach (var layout in clusters)
    {
        try { ClusterControl.StopAll(layout); } catch (Exception) { }
        try { Directory.Delete(layout.Root, true); } catch (IOException) { }
    }
}

// A new cluster of 8 nodes, node i on machine(i); its inventory entries.
async Task<List<KmNode>> StartCluster(Func<int, SshMachines.Machine> machine)
{
    var root = Path.Combine("/tmp", "kb" + Guid.NewGuid().ToString("N")[..10]);
    ClusterBuilder.Create(root, new ClusterOptions { Nodes = Machines, EpochIntervalMs = 1000 });
    var layout = new ClusterLayout(root);
    clusters.Add(layout);
    return await ssh.StartClusterAsync(layout, Enumerable.Range(0, Machines).ToDictionary(i => $"km{i + 1}", machine));
}

// One size: new sessions by Import-KmNode, the first status call, then warm calls; the sessions are removed at the end.
static Figures Measure(Engine engine, string inventory, int warmCalls, HashSet<int> uids)
{
    var cpu = Cpu(uids);
    var sw = Stopwatch.StartNew();
    engine.Run($"$global:nodes = Import-KmNode '{inventory}'");
    var import = sw.Elapsed.TotalMilliseconds;
    var importCpu = CpuSince(cpu, uids);
    var count = engine.Run("$global:nodes.Count")[0].BaseObject;
    cpu = Cpu(uids);
    sw.Restart();
    var first = engine.Run("$global:nodes | Get-KmStatus");
    var firstMs = sw.Elapsed.TotalMilliseconds;
    var firstCpu = CpuSince(cpu, uids);
    if (first.Count != (int)count || first.Any(s => !(bool)s.Properties["IsReady"].Value))
        throw new InvalidOperationException($"expected {count} ready statuses, got {first.Count}");
    var warm = new List<double>();
    cpu = Cpu(uids);
    for (var i = 0; i < warmCalls; i++)
    {
        sw.Restart();
        engine.Run("$global:nodes | Get-KmStatus");
        warm.Add(sw.Elapsed.TotalMilliseconds);
    }
    var warmCpu = CpuSince(cpu, uids) / warmCalls;
    var warmAdminCpu = CpuSince(cpu, uids, adminOnly: true) / warmCalls;
    engine.Run("Get-PSSession | Remove-PSSession");
    warm.Sort();
    return new Figures(import, importCpu, firstMs, firstCpu, warm[warm.Count / 2], warmCpu, warmAdminCpu);
}

// CPU time (user + system) per live process of this process and of these users, in ms; a phase's CPU is
// the growth of each process that was there or started (processes gone by the end are not counted).
static Dictionary<int, double> Cpu(HashSet<int> uids)
{
    var result = new Dictionary<int, double>();
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
        try
        {
            if (pid != Environment.ProcessId && !uids.Contains(SshMachines.ProcessUid(pid))) continue;
            var stat = File.ReadAllText(Path.Combine(dir, "stat"));
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            result[pid] = (long.Parse(f[11]) + long.Parse(f[12])) * 10.0; // utime, stime (fields 14 and 15), USER_HZ 100
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { }
    }
    return result;
}

static double CpuSince(Dictionary<int, double> before, HashSet<int> uids, bool adminOnly = false) =>
    Cpu(uids).Where(p => !adminOnly || p.Key == Environment.ProcessId).Sum(p => p.Value - before.GetValueOrDefault(p.Key));

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1]) : fallback;
}

/// <summary>One size's figures, ms.</summary>
sealed record Figures(double Import, double ImportCpu, double First, double FirstCpu, double Warm, double WarmCpu, double WarmAdminCpu);

/// <summary>The admin host's engine with the module imported; every error fails the benchmark.</summary>
sealed class Engine : IDisposable
{
    private readonly Runspace _runspace;

    public Engine()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { TestPaths.ModuleManifest });
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
    }

    public List<PSObject> Run(string script)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        var output = ps.Invoke().ToList();
        if (ps.Streams.Error.Count > 0) throw new InvalidOperationException(string.Join("\n", ps.Streams.Error));
        return output;
    }

    public void Dispose() => _runspace.Dispose();
}
