using System.Text.Json.Serialization;
using KmPs.Core.Control;
using KmPs.Core.LocalState;

namespace KmPs.Core.Inventory;

/// <summary>How a node is started and stopped.</summary>
public enum LifecycleKind
{
    /// <summary>No lifecycle: the module can read the node but not stop or start it.</summary>
    None,
    /// <summary><c>systemctl stop|start &lt;Unit&gt;</c> (honours Restart=on-failure, unlike killing the process).</summary>
    Systemd,
    /// <summary>Start and stop PowerShell script blocks.</summary>
    Script,
}

/// <summary>
/// A key manager node of the inventory: everything the module needs to read, stop, wipe,
/// reconfigure and start it. Output of New-KmNode / Import-KmNode; every other command binds its
/// properties by name. Script blocks are kept as text so the object survives JSON files and
/// remoting (deserialised objects keep their properties).
/// A remote node (<see cref="Session"/> or <see cref="HostName"/> set) lives on another machine:
/// every operation on it runs there through its PowerShell remoting session, and its paths
/// (DataDir, Socket, ConfigPath, LogPath) are paths on that machine.
/// </summary>
public sealed class KmNode
{
    public string Name { get; set; } = "";
    /// <summary>Control socket address (unix:/…/internal.sock).</summary>
    public string Socket { get; set; } = "";
    public string DataDir { get; set; } = "";
    public string? ConfigPath { get; set; }
    /// <summary>KM runtime id, 64 hex; from the config when not given.</summary>
    public string? RuntimeId { get; set; }
    public LifecycleKind Lifecycle { get; set; }
    public string? Unit { get; set; }
    public string? StartScript { get; set; }
    public string? StopScript { get; set; }
    /// <summary>The node's log file (oasis-node JSON lines), for Find-KmUpgradeProblem.</summary>
    public string? LogPath { get; set; }
    /// <summary>The node's machine, for an SSH remoting session (New-PSSession -HostName); null for local nodes.</summary>
    public string? HostName { get; set; }
    /// <summary>The user of the SSH remoting session; default: the current user.</summary>
    public string? UserName { get; set; }
    /// <summary>The SSH port of the node's machine (New-PSSession -Port); default: ssh's own (22 or its config).</summary>
    public int? Port { get; set; }
    /// <summary>The private key for the SSH login, a path on the admin host (New-PSSession -KeyFilePath); default: ssh's own.</summary>
    public string? KeyFilePath { get; set; }
    /// <summary>
    /// ssh options for the session (New-PSSession -Options: each one an <c>ssh -o name=value</c>), e.g.
    /// StrictHostKeyChecking or ProxyJump; default: none beyond ssh's own configuration.
    /// </summary>
    public Dictionary<string, string>? SshOptions { get; set; }
    /// <summary>
    /// The PowerShell remoting session (a PSSession) to the node's machine; null for local nodes.
    /// Typed object because this library does not reference PowerShell. Never saved to inventory files.
    /// </summary>
    [JsonIgnore]
    public object? Session { get; set; }

    /// <summary>Whether the node is on another machine (has a session or a host name).</summary>
    [JsonIgnore]
    public bool IsRemote => Session is not null || !string.IsNullOrEmpty(HostName);

    /// <summary>
    /// Which machine the node is on, for telling nodes apart: its host name (case-insensitive), else its
    /// session (one object per connection), else "" for this machine. Paths and sockets are per machine.
    /// </summary>
    [JsonIgnore]
    public object Machine => !string.IsNullOrEmpty(HostName) ? HostName!.ToLowerInvariant() : Session ?? "";

    /// <summary>The inventory file this node was read from (null for New-KmNode).</summary>
    [JsonIgnore]
    public string? InventoryPath { get; set; }

    /// <summary>The names of every entry of that file, good or bad: an upgrade given fewer nodes than these refuses.</summary>
    [JsonIgnore]
    public string[]? InventoryNames { get; set; }

    /// <summary>The same node as its own machine sees it: no host, user or session (what a remote session works on).</summary>
    public KmNode AsLocal() => new()
    {
        Name = Name, Socket = Socket, DataDir = DataDir, ConfigPath = ConfigPath, RuntimeId = RuntimeId, Lifecycle = Lifecycle,
        Unit = Unit, StartScript = StartScript, StopScript = StopScript, LogPath = LogPath,
    };

    public override string ToString() => Name;

    /// <summary>Checks and completes a node: socket from the data dir, ids and paths validated.</summary>
    public KmNode Validate(string? baseDirectory = null)
    {
        if (string.IsNullOrWhiteSpace(Name))
            throw Invalid(InventoryErrorIds.InvalidNodeName, "A node needs a Name.", this);
        if (string.IsNullOrWhiteSpace(DataDir))
            throw Invalid(LocalStateErrorIds.InvalidDataDir, $"Node '{Name}' has no DataDir.", this);
        if (!Path.IsPathRooted(DataDir))
            throw Invalid(LocalStateErrorIds.InvalidDataDir, $"Node '{Name}': DataDir '{DataDir}' must be absolute.", this);
        DataDir = LocalStatePath.Normalize(DataDir); // ".." kept: it means what the kernel makes of it after links
        if (DataDir == "/") throw Invalid(LocalStateErrorIds.InvalidDataDir, $"Node '{Name}': DataDir is the file system root.", this);
        if (RuntimeId is not null) RuntimeId = KeyManagerRuntimeId.Validate(RuntimeId);
        if (string.IsNullOrWhiteSpace(ConfigPath)) ConfigPath = null;
        if (string.IsNullOrWhiteSpace(LogPath)) LogPath = null;
        if (IsRemote)
        {
            // Paths on another machine: nothing here can resolve them, so they must be absolute;
            // the node's own machine completes them (New-KmNode / Import-KmNode through the session).
            if (string.IsNullOrWhiteSpace(Socket)) Socket = "unix:" + Path.Combine(DataDir, SocketAddress.SocketFileName);
            else if (!Path.IsPathRooted(Socket.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) ? Socket[5..] : Socket))
                throw Invalid(InventoryErrorIds.InvalidSocketAddress, $"Node '{Name}' is on another machine: its Socket '{Socket}' must be an absolute path there.", this);
            ConfigPath = RemotePath(ConfigPath, "ConfigPath");
            LogPath = RemotePath(LogPath, "LogPath");
        }
        else
        {
            Socket = string.IsNullOrWhiteSpace(Socket)
                ? "unix:" + Path.Combine(DataDir, SocketAddress.SocketFileName)
                : SocketAddress.Parse(Socket, baseDirectory).ToString();
            if (ConfigPath is not null) ConfigPath = Path.GetFullPath(ConfigPath, baseDirectory ?? Environment.CurrentDirectory);
        }
        if (Port is < 1 or > 65535)
            throw Invalid(InventoryErrorIds.InvalidPort, $"Node '{Name}': Port {Port} is not a TCP port (1-65535).", this);
        // The key is the admin host's file: relative to the inventory file, like a local node's paths.
        KeyFilePath = string.IsNullOrWhiteSpace(KeyFilePath) ? null : Path.GetFullPath(KeyFilePath, baseDirectory ?? Environment.CurrentDirectory);
        switch (Lifecycle)
        {
            case LifecycleKind.Systemd:
                if (string.IsNullOrWhiteSpace(Unit) || !System.Text.RegularExpressions.Regex.IsMatch(Unit, @"^[A-Za-z0-9:_.@\\-]+$"))
                    throw Invalid(InventoryErrorIds.InvalidLifecycle, $"Node '{Name}': systemd lifecycle needs a unit name (e.g. oasis-node.service), got '{Unit}'.", this);
                break;
            case LifecycleKind.Script:
                if (string.IsNullOrWhiteSpace(StartScript) || string.IsNullOrWhiteSpace(StopScript))
                    throw Invalid(InventoryErrorIds.InvalidLifecycle, $"Node '{Name}': script lifecycle needs both StartScript and StopScript.", this);
                break;
        }
        return this;
    }

    private string? RemotePath(string? path, string what)
    {
        if (path is null) return null;
        if (!Path.IsPathRooted(path))
            throw Invalid(InventoryErrorIds.InvalidPath, $"Node '{Name}' is on another machine: its {what} '{path}' must be an absolute path there.", this);
        return Path.GetFullPath(path);
    }

    private static KmException Invalid(string id, string message, object target) => new(id, KmErrorCategory.InvalidArgument, message, target);
}
