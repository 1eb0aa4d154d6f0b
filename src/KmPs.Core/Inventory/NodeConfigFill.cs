using KmPs.Core.Config;
using KmPs.Core.Inventory;
using KmPs.Core.LocalState;

namespace KmPs.Core.Inventory;

/// <summary>Completes an inventory node from its config file (runtime id, log file) and checks they agree.</summary>
public static class NodeConfigFill
{
    public static KmNode Complete(KmNode node)
    {
        if (node.ConfigPath is null || node.HostName is not null) return node;
        var config = NodeConfig.Load(node.ConfigPath);
        if (node.RuntimeId is null) node.RuntimeId = KeyManagerRuntimeId.Validate(config.KmRuntimeId);
        else if (node.RuntimeId != config.KmRuntimeId)
            throw new KmException(ConfigErrorIds.BundleRuntimeMismatch, KmErrorCategory.InvalidData,
                $"Node '{node.Name}': the inventory says runtime {node.RuntimeId} but {node.ConfigPath} configures {config.KmRuntimeId}.", node.Name);
        try { NodeControlSocket.CheckDataDir(config, node.DataDir, node.DataDir); }
        catch (KmException e) { throw new KmException(e.ErrorId, e.Category, $"Node '{node.Name}': {e.Message}", node.Name, e) { RecommendedAction = e.RecommendedAction }; }
        node.LogPath ??= config.LogFilePath;
        // A config that moves the control socket (common.internal_socket_path) is where the node
        // listens: the default <DataDir>/internal.sock would stay silent and pass for a stopped node.
        if (config.InternalSocket is not null)
        {
            var configured = "unix:" + config.SocketPath;
            var assumed = "unix:" + Path.Combine(node.DataDir, Control.SocketAddress.SocketFileName);
            if (node.Socket == assumed) node.Socket = configured;
            else if (node.Socket != configured)
                throw new KmException(InventoryErrorIds.ConfigSocketMismatch, KmErrorCategory.InvalidData,
                    $"Node '{node.Name}': the inventory gives socket {node.Socket} but its config {node.ConfigPath} makes the node listen on {config.SocketPath}.", node.Name)
                { RecommendedAction = "Leave Socket out of the inventory (the config says where it is), or correct it." };
        }
        return node;
    }
}
