using KmPs.Core.Control;
using KmPs.Core.Status;

namespace KmPs.Core.Hosting;

public static class NodeHostExtensions
{
    /// <summary>The node's status, parsed here from the CBOR its host read.</summary>
    public static async Task<KmStatus> GetStatusAsync(this INodeHost host, string socket, TimeSpan timeout, CancellationToken ct)
    {
        var address = host.Address(socket);
        var read = await host.GetStatusCborAsync(socket, timeout, ct).ConfigureAwait(false);
        var status = ControlClient.ParseStatus(read.Status, address);
        status.RetrievedAt = read.ReadAt;
        return status;
    }

    /// <summary>The consensus key manager status and policy, read through the node, parsed here.</summary>
    public static async Task<Policy.KmPolicyStatus> GetPolicyStatusAsync(this INodeHost host, string socket, string runtimeId, TimeSpan timeout, CancellationToken ct)
    {
        var answer = await host.GetKeyManagerStatusAsync(socket, runtimeId, timeout, ct).ConfigureAwait(false);
        return answer.Parse(host.Address(socket) + (host.Machine.Length == 0 ? "" : " on " + host.Machine));
    }

    /// <summary>Whether two hosts are one machine (two sessions to one host name are; erring this way refuses a wipe, never allows one).</summary>
    public static bool SameMachine(this INodeHost a, INodeHost b) => string.Equals(a.Machine, b.Machine, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether two sockets given to these hosts are one node's.</summary>
    public static bool SameSocket(this INodeHost a, string socketA, INodeHost b, string socketB) =>
        a.SameMachine(b) && (a.Machine.Length == 0
            ? a.Address(socketA).Path == b.Address(socketB).Path
            : SocketAddress.SameRemoteSocket(socketA, socketB));
}
