using KmPs.Config;
using KmPs.Inventory;
using KmPs.LocalState;

namespace KmPs.Cmdlets;

/// <summary>Completes an inventory node from its config file (runtime id, log file) and checks they agree.</summary>
internal static class NodeConfigFill
{
    public static KmNode Complete(KmNode node)
    {
        if (node.ConfigPath is null || node.HostName is not null) return node;
        var config = NodeConfig.Load(node.ConfigPath);
        if (node.RuntimeId is null) node.RuntimeId = KeyManagerRuntimeId.Validate(config.KmRuntimeId);
        else if (node.RuntimeId != config.KmRuntimeId)
            throw new KmException("BundleRuntimeMismatch", KmErrorCategory.InvalidData,
                $"Node '{node.Name}': the inventory says runtime {node.RuntimeId} but {node.ConfigPath} configures {config.KmRuntimeId}.", node.Name);
        if (config.DataDirPath is not null &&
            Path.TrimEndingDirectorySeparator(Path.GetFullPath(config.DataDirPath)) != node.DataDir)
            throw new KmException("ConfigDataDirMismatch", KmErrorCategory.InvalidData,
                $"Node '{node.Name}': its config {node.ConfigPath} uses data dir {config.DataDirPath}, not {node.DataDir}; is it the right config?", node.Name);
        node.LogPath ??= config.LogFilePath;
        return node;
    }
}
