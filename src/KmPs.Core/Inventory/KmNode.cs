using KmPs.Control;
using KmPs.LocalState;

namespace KmPs.Inventory;

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
    /// <summary>Remote machine (issue: remoting); null for local nodes.</summary>
    public string? HostName { get; set; }
    public string? UserName { get; set; }

    public override string ToString() => Name;

    /// <summary>Checks and completes a node: socket from the data dir, ids and paths validated.</summary>
    public KmNode Validate(string? baseDirectory = null)
    {
        if (string.IsNullOrWhiteSpace(Name))
            throw Invalid("InvalidNodeName", "A node needs a Name.", this);
        if (string.IsNullOrWhiteSpace(DataDir))
            throw Invalid("InvalidDataDir", $"Node '{Name}' has no DataDir.", this);
        if (!Path.IsPathRooted(DataDir))
            throw Invalid("InvalidDataDir", $"Node '{Name}': DataDir '{DataDir}' must be absolute.", this);
        DataDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(DataDir));
        if (DataDir == "/") throw Invalid("InvalidDataDir", $"Node '{Name}': DataDir is the file system root.", this);
        Socket = string.IsNullOrWhiteSpace(Socket)
            ? "unix:" + Path.Combine(DataDir, SocketAddress.SocketFileName)
            : SocketAddress.Parse(Socket, baseDirectory).ToString();
        if (RuntimeId is not null) RuntimeId = KeyManagerRuntimeId.Validate(RuntimeId);
        if (ConfigPath is not null)
        {
            if (string.IsNullOrWhiteSpace(ConfigPath)) ConfigPath = null;
            else ConfigPath = Path.GetFullPath(ConfigPath, baseDirectory ?? Environment.CurrentDirectory);
        }
        switch (Lifecycle)
        {
            case LifecycleKind.Systemd:
                if (string.IsNullOrWhiteSpace(Unit) || !System.Text.RegularExpressions.Regex.IsMatch(Unit, @"^[A-Za-z0-9:_.@\\-]+$"))
                    throw Invalid("InvalidLifecycle", $"Node '{Name}': systemd lifecycle needs a unit name (e.g. oasis-node.service), got '{Unit}'.", this);
                break;
            case LifecycleKind.Script:
                if (string.IsNullOrWhiteSpace(StartScript) || string.IsNullOrWhiteSpace(StopScript))
                    throw Invalid("InvalidLifecycle", $"Node '{Name}': script lifecycle needs both StartScript and StopScript.", this);
                break;
        }
        return this;
    }

    private static KmException Invalid(string id, string message, object target) => new(id, KmErrorCategory.InvalidArgument, message, target);
}
