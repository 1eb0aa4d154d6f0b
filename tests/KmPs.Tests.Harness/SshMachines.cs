using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using KmPs.Core.Inventory;
using KmPs.Simulator.Cluster;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>
/// Key manager "machines" reached over real SSH remoting: a private sshd (per-run host key, its own
/// config, a free port on 127.0.0.1, stopped by its pid) and one unprivileged unix user per machine,
/// who logs in with a per-run key, gets pwsh as the powershell subsystem and has the module installed
/// on its own module path. Every machine has a host name of its own (mN.kmssh.test); ssh's HostName
/// option (in <see cref="Options"/>, given to every session) sends them all to 127.0.0.1, so the
/// module tells the machines apart as it does real hosts while no traffic leaves the loopback.
/// Needs root (users, sshd) and OpenSSH (.ci/run installs it); without them it throws, it never skips.
/// No xunit here: the benchmark uses it too.
/// </summary>
public sealed class SshMachines : IDisposable
{
    public sealed record Machine(string HostName, string UserName, int Uid, int Gid, string Home);

    /// <summary>Prefix of the per-run user names: kmssh&lt;pid of the run&gt;-&lt;n&gt;, so a later run knows a killed run's leftovers.</summary>
    private const string Prefix = "kmssh";
    private const string Sshd = "/usr/sbin/sshd";

    public string Root { get; }
    public int Port { get; private set; }
    /// <summary>The admin host's private key, authorized for every machine's user.</summary>
    public string ClientKey => Path.Combine(Root, "admin_key");
    public string KnownHosts => Path.Combine(Root, "known_hosts");
    public IReadOnlyList<Machine> Machines => _machines;
    /// <summary>The simulator, copied where the machines' users can run it (the checkout may be under /root).</summary>
    public string SimulatorDll => Path.Combine(Root, "simulator", Path.GetFileName(TestPaths.SimulatorDll));
    public int SshdPid => _sshd?.Id ?? 0;
    /// <summary>What sshd logged (-e): the first place to look when a login fails.</summary>
    public string SshdLog { get { lock (_log) return _log.ToString(); } }

    private readonly List<Machine> _machines = new();
    private readonly StringBuilder _log = new();
    private Process? _sshd;

    private SshMachines(string root) => Root = root;

    /// <summary>Users, keys, the pwsh subsystem and a running sshd for <paramref name="count"/> machines.</summary>
    public static SshMachines Start(int count)
    {
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException("The SSH remoting tests must run as root (they create unix users and run sshd); CI runs them as root.");
        foreach (var tool in new[] { Sshd, "ssh", "ssh-keygen", "useradd", "userdel", "chown" })
            if (Which(tool) is null)
                throw new InvalidOperationException($"'{tool}' is missing: the SSH remoting tests need OpenSSH (.ci/run installs it: apt-get install openssh-server openssh-client).");
        RemoveLeftovers();
        var m = new SshMachines(Path.Combine("/tmp", Prefix + Environment.ProcessId));
        try
        {
            m.Prepare(count);
            m.StartSshd();
            return m;
        }
        catch
        {
            m.Dispose();
            throw;
        }
    }

    private void Prepare(int count)
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        CreateDir(Root, "755");
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kmssh host", "-f", Path.Combine(Root, "host_key"));
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kmssh admin", "-f", ClientKey);
        var pwsh = InstallPwsh();
        CopyTree(Path.GetDirectoryName(TestPaths.SimulatorDll)!, Path.GetDirectoryName(SimulatorDll)!);
        CreateDir(Path.Combine(Root, "keys"), "755");
        CreateDir(Path.Combine(Root, "home"), "755");
        var admin = File.ReadAllText(ClientKey + ".pub");
        for (var i = 1; i <= count; i++)
        {
            var user = $"{Prefix}{Environment.ProcessId}-{i}";
            var home = Path.Combine(Root, "home", user);
            // A user of this name is left by an earlier run with this pid that was killed: start afresh.
            if (Id("-u", user) is not null) Run("userdel", "-f", user);
            // "*": no password, but not locked; sshd (UsePAM no) refuses logins to locked accounts ("!").
            Run("useradd", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", "--password", "*", "--user-group", user);
            var machine = new Machine($"m{i}.kmssh.test", user, int.Parse(Id("-u", user)!), int.Parse(Id("-g", user)!), home);
            _machines.Add(machine);
            // The module installed on that user's module path, as an operator would (~/.local/share/powershell/Modules).
            CopyTree(TestPaths.ModuleDir, Path.Combine(home, ".local", "share", "powershell", "Modules", "OasisKeyManager"));
            File.SetUnixFileMode(home, (UnixFileMode)Convert.ToInt32("700", 8));
            Chown(home, machine);
            File.WriteAllText(Path.Combine(Root, "keys", user), admin);
        }
        File.WriteAllText(Path.Combine(Root, "sshd_config"), $"""
            ListenAddress 127.0.0.1
            HostKey {Root}/host_key
            PidFile {Root}/sshd.pid
            AuthorizedKeysFile {Root}/keys/%u
            AllowUsers {string.Join(' ', _machines.Select(x => x.UserName))}
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin no
            X11Forwarding no
            AllowTcpForwarding no
            Subsystem powershell {pwsh} -sshs -NoLogo
            """);
        Directory.CreateDirectory("/run/sshd"); // sshd's privilege separation dir
    }

    /// <summary>
    /// The pwsh the repository pins (dotnet-tools.json), copied where the users can read it, and a
    /// wrapper that runs it with this machine's dotnet: the subsystem command.
    /// </summary>
    private string InstallPwsh()
    {
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "dotnet-tools.json")));
        var version = manifest.RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString()!;
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var tool = Path.Combine(packages, "powershell", version, "tools", "net10.0", "any", "unix");
        if (!File.Exists(Path.Combine(tool, "pwsh.dll")))
        {
            var (code, output, error) = Exec("dotnet", TestPaths.RepoRoot, "tool", "restore");
            if (code != 0) throw new InvalidOperationException($"dotnet tool restore failed ({code}): {error}{output}");
            if (!File.Exists(Path.Combine(tool, "pwsh.dll"))) throw new InvalidOperationException($"pwsh {version} is not at {tool} after dotnet tool restore.");
        }
        CopyTree(tool, Path.Combine(Root, "pwsh"));
        var dotnet = Which("dotnet") ?? throw new InvalidOperationException("dotnet is not on PATH.");
        dotnet = new FileInfo(dotnet).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet;
        for (var d = Path.GetDirectoryName(dotnet); d is { Length: > 1 }; d = Path.GetDirectoryName(d))
            if (((int)File.GetUnixFileMode(d) & 1) == 0)
                throw new InvalidOperationException($"dotnet ({dotnet}) is in {d}, which other users cannot enter; install the SDK where every user can run it (e.g. /usr/share/dotnet).");
        var wrapper = Path.Combine(Root, "pwsh.sh");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexport DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1\nexec {dotnet} {Root}/pwsh/pwsh.dll \"$@\"\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)Convert.ToInt32("755", 8));
        return wrapper;
    }

    private void StartSshd()
    {
        // A free port can be taken between the probe and sshd's bind: try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            var psi = new ProcessStartInfo(Sshd) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-D", "-e", "-f", Path.Combine(Root, "sshd_config"), "-p", Port.ToString() }) psi.ArgumentList.Add(a);
            var sshd = Process.Start(psi)!;
            sshd.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
            sshd.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
            sshd.BeginErrorReadLine();
            sshd.BeginOutputReadLine();
            _sshd = sshd;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline && !sshd.HasExited)
            {
                if (Accepts(Port))
                {
                    File.WriteAllText(KnownHosts, $"[127.0.0.1]:{Port} {File.ReadAllText(Path.Combine(Root, "host_key.pub"))}");
                    return;
                }
                Thread.Sleep(50);
            }
            StopSshd();
            if (attempt == 3) throw new InvalidOperationException($"sshd did not listen on 127.0.0.1:{Port}: {SshdLog}");
        }
    }

    /// <summary>
    /// The ssh options of every session to these machines: every host name goes to 127.0.0.1, the
    /// per-run host key is checked, and BatchMode, so ssh never waits for a password.
    /// </summary>
    public Dictionary<string, string> Options => new()
    {
        ["HostName"] = "127.0.0.1", ["UserKnownHostsFile"] = KnownHosts, ["GlobalKnownHostsFile"] = "/dev/null",
        ["StrictHostKeyChecking"] = "yes", ["BatchMode"] = "yes",
    };

    /// <summary>The New-PSSession call for a machine, as an operator would type it.</summary>
    public string NewSession(Machine m) =>
        $"New-PSSession -HostName '{m.HostName}' -UserName '{m.UserName}' -Port {Port} -KeyFilePath '{ClientKey}' -ErrorAction Stop " +
        "-Options @{ " + string.Join("; ", Options.Select(o => $"{o.Key} = '{o.Value}'")) + " }";

    /// <summary>Runs a shell command on a machine as its user, through the real ssh client; its standard output.</summary>
    public string Ssh(Machine m, string command)
    {
        var args = new List<string> { "-p", Port.ToString(), "-i", ClientKey, "-l", m.UserName };
        foreach (var (name, value) in Options) args.AddRange(new[] { "-o", $"{name}={value}" });
        args.AddRange(new[] { m.HostName, command });
        var (code, output, error) = Exec("ssh", null, args.ToArray());
        if (code != 0) throw new InvalidOperationException($"ssh {m.UserName}@{m.HostName} '{command}' failed ({code}): {error}\nsshd: {SshdLog}");
        return output;
    }

    /// <summary>
    /// Moves a node of a simulated cluster onto a machine: its folder (config, data dir 0700, logs)
    /// owned by the machine's user, its inventory entry reaching it over SSH and its lifecycle the
    /// copied simulator, run there as that user. The cluster's shared folders (the simulated chain,
    /// the peers' replication sockets, the bundles) are opened to every user, as a network would be.
    /// The node must not be running; start it with <see cref="StartNode"/>.
    /// </summary>
    public KmNode Host(ClusterLayout layout, KmNode entry, Machine m)
    {
        foreach (var shared in new[] { layout.ChainDir, layout.RegistryDir, layout.P2pDir, layout.BundlesDir })
            File.SetUnixFileMode(shared, (UnixFileMode)Convert.ToInt32("1777", 8));
        Chown(layout.NodeDir(entry.Name), m);
        var dll = NodeProcesses.SimulatorDll(ClusterSpec.Load(layout));
        entry.HostName = m.HostName;
        entry.UserName = m.UserName;
        entry.Port = Port;
        entry.KeyFilePath = ClientKey;
        entry.SshOptions = Options;
        entry.StartScript = entry.StartScript!.Replace(dll, SimulatorDll, StringComparison.Ordinal);
        entry.StopScript = entry.StopScript!.Replace(dll, SimulatorDll, StringComparison.Ordinal);
        return entry;
    }

    /// <summary>
    /// Starts a created, never started cluster with the nodes of <paramref name="placed"/> on those
    /// machines (see <see cref="Host"/>) and the others here; returns its inventory entries, the placed
    /// ones reaching their machines over SSH. Returns once every node is ready.
    /// </summary>
    public async Task<List<KmNode>> StartClusterAsync(ClusterLayout layout, IReadOnlyDictionary<string, Machine> placed)
    {
        var nodes = InventoryFile.ParseJson(File.ReadAllText(layout.InventoryFile), layout.InventoryFile).ToList();
        foreach (var n in nodes)
            if (placed.TryGetValue(n.Name, out var m)) Host(layout, n, m);
        var timeout = TimeSpan.FromSeconds(60);
        await ClusterControl.StartAllAsync(layout, timeout, CancellationToken.None, node =>
        {
            if (placed.TryGetValue(node, out var m)) StartNode(layout, node, m);
            else NodeProcesses.Start(layout, node, timeout);
        });
        return nodes;
    }

    /// <summary>Starts a node on its machine, as that machine's user, over ssh.</summary>
    public void StartNode(ClusterLayout layout, string node, Machine m) =>
        Ssh(m, $"dotnet '{SimulatorDll}' start-node --cluster '{layout.Root}' --node '{node}'");

    /// <summary>The owner uid of a file or folder (stat).</summary>
    public static int OwnerUid(string path)
    {
        var (code, output, error) = Exec("stat", null, "-c", "%u", path);
        return code == 0 ? int.Parse(output.Trim()) : throw new IOException($"stat {path}: {error}");
    }

    /// <summary>The owner uid of a running process.</summary>
    public static int ProcessUid(int pid) =>
        int.Parse(File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]);

    public void Dispose()
    {
        StopSshd();
        foreach (var m in _machines) RemoveUser(m.UserName, m.Uid);
        try { if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void StopSshd()
    {
        if (_sshd is null) return;
        try { if (!_sshd.HasExited) _sshd.Kill(); _sshd.WaitForExit(10_000); } catch (InvalidOperationException) { }
        _sshd.Dispose();
        _sshd = null;
    }

    /// <summary>Ends what still runs as the user (sessions, nodes it started), by pid, then removes the user.</summary>
    private static void RemoveUser(string user, int uid)
    {
        foreach (var pid in ProcessesOf(uid))
        {
            try { using var p = Process.GetProcessById(pid); p.Kill(); p.WaitForExit(5_000); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
        Exec("userdel", null, "-f", user);
    }

    private static IEnumerable<int> ProcessesOf(int uid)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            int owner;
            try { owner = ProcessUid(pid); } catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { continue; }
            if (owner == uid) yield return pid;
        }
    }

    /// <summary>Users, sshd and folders of earlier runs that were killed before their cleanup (their test process is gone).</summary>
    private static void RemoveLeftovers()
    {
        var users = File.ReadAllLines("/etc/passwd").Select(l => l.Split(':'))
            .Where(f => f.Length > 3 && f[0].StartsWith(Prefix, StringComparison.Ordinal) && f[0].Contains('-'))
            .Select(f => (Name: f[0], Uid: int.Parse(f[2]), Run: int.TryParse(f[0][Prefix.Length..f[0].IndexOf('-')], out var run) ? run : 0))
            .Where(u => u.Run != Environment.ProcessId && !Alive(u.Run)).ToList();
        foreach (var run in users.Select(u => u.Run).Distinct())
        {
            var root = Path.Combine("/tmp", Prefix + run);
            var pidFile = Path.Combine(root, "sshd.pid");
            // That run's sshd, if it outlived its test process: only if it is an sshd of that run's config.
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var sshd) && Alive(sshd) &&
                File.ReadAllText($"/proc/{sshd}/cmdline").Contains(Path.Combine(root, "sshd_config"), StringComparison.Ordinal))
            {
                try { using var p = Process.GetProcessById(sshd); p.Kill(); p.WaitForExit(5_000); } catch (ArgumentException) { }
            }
            foreach (var u in users.Where(u => u.Run == run)) RemoveUser(u.Name, u.Uid);
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool Alive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");

    /// <summary>A 127.0.0.1 port nothing listens on (at the time of asking).</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException) { return false; }
    }

    /// <summary>Gives a file or folder (and all below it) to the machine's user, as its oasis user would own it.</summary>
    public static void Chown(string path, Machine m) => Run("chown", "-R", $"{m.Uid}:{m.Gid}", path);

    private static void CreateDir(string path, string mode)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(mode, 8));
    }

    /// <summary>A copy any user can read (folders 0755, files 0644; executables keep their x bits).</summary>
    private static void CopyTree(string from, string to)
    {
        CreateDir(to, "755");
        foreach (var f in Directory.EnumerateFiles(from))
        {
            var target = Path.Combine(to, Path.GetFileName(f));
            File.Copy(f, target, overwrite: true);
            var x = ((int)File.GetUnixFileMode(f) & 0x40) != 0;
            File.SetUnixFileMode(target, (UnixFileMode)Convert.ToInt32(x ? "755" : "644", 8));
        }
        foreach (var d in Directory.EnumerateDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }

    private static string? Which(string tool) =>
        tool.StartsWith('/') ? (File.Exists(tool) ? tool : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin")
                .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static string? Id(string what, string user)
    {
        var (code, output, _) = Exec("id", null, what, user);
        return code == 0 ? output.Trim() : null;
    }

    private static void Run(string tool, params string[] args)
    {
        var (code, output, error) = Exec(tool, null, args);
        if (code != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({code}): {error}{output}");
    }

    private static (int Code, string Output, string Error) Exec(string tool, string? cwd, params string[] args)
    {
        var psi = new ProcessStartInfo(Which(tool) ?? tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) { p.Kill(); return (-1, output, "timed out"); }
        return (p.ExitCode, output, error.Result);
    }
}
