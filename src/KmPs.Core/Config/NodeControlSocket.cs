using KmPs.Core.Control;

namespace KmPs.Core.Config;

/// <summary>
/// Where a node's own control socket is, the one place that decides it for every command that
/// checks a node is stopped: as given; else where the node's config puts it (24.0+
/// <c>common.internal_socket_path</c>); else &lt;DataDir&gt;/internal.sock. Looking at the default
/// path of a node whose socket is elsewhere finds silence, which would pass for a stopped node.
/// </summary>
public static class NodeControlSocket
{
    /// <exception cref="KmException">Bad socket address; the config's errors; ConfigDataDirMismatch when the config is another node's.</exception>
    public static SocketAddress Resolve(string? socket, string dataDir, string? configPath, string baseDirectory)
    {
        if (!string.IsNullOrWhiteSpace(socket)) return SocketAddress.Parse(socket, baseDirectory);
        if (!string.IsNullOrWhiteSpace(configPath))
        {
            var config = NodeConfig.Load(Path.GetFullPath(configPath, baseDirectory));
            CheckDataDir(config, dataDir, baseDirectory);
            if (config.SocketPath is not null) return SocketAddress.Parse(config.SocketPath, baseDirectory);
        }
        return SocketAddress.Parse(dataDir, baseDirectory);
    }

    /// <summary>The config must be this node's: the data dir it names is the one given.</summary>
    public static void CheckDataDir(NodeConfig config, string dataDir, string baseDirectory)
    {
        if (config.DataDirPath is null) return;
        var given = Path.IsPathRooted(dataDir) ? dataDir : Path.Combine(baseDirectory, dataDir);
        if (SameFolder(config.DataDirPath, given)) return;
        throw new KmException(ConfigErrorIds.ConfigDataDirMismatch, KmErrorCategory.InvalidData,
                $"The config {config.Path} uses data dir {config.DataDirPath}, not {LocalState.LocalStatePath.Normalize(given)}; is it this node's config?", config.Path)
            { RecommendedAction = "Give the data dir and the config of the same node." };
    }

    // The same text, or the same folder once links are resolved (/node/data may be a link to /mnt/disk/data).
    private static bool SameFolder(string a, string b) =>
        LocalState.LocalStatePath.Normalize(a) == LocalState.LocalStatePath.Normalize(b) ||
        (Directory.Exists(a) && Directory.Exists(b) && LocalState.LocalStatePath.RealPath(a) == LocalState.LocalStatePath.RealPath(b));
}
