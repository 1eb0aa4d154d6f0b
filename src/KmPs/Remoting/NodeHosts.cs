using System.Management.Automation.Runspaces;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;

namespace KmPs.Remoting;

/// <summary>
/// Which host a node's operations go to, decided once per node: its machine's through its session,
/// else this machine's. A process may put another host in place of this machine's (the schedule
/// explorer's in-memory cluster), so every command runs unchanged against it.
/// </summary>
public static class NodeHosts
{
    private static volatile INodeHost? _localOverride;

    public static INodeHost For(KmNode node, string baseDirectory) =>
        node.IsRemote ? new RemoteNodeHost(KmRemoting.SessionOf(node), node.Name) : Local(baseDirectory);

    /// <summary>A node bound by property name: through its session when it has one.</summary>
    public static INodeHost For(PSSession? session, string? name, string baseDirectory) =>
        session is not null ? new RemoteNodeHost(session, name ?? session.Name) : Local(baseDirectory);

    /// <summary>For the pre-flight and the orchestrator: every node's host, relative paths from <paramref name="baseDirectory"/>.</summary>
    public static Func<KmNode, INodeHost> Resolver(string baseDirectory) => n => For(n, baseDirectory);

    public static INodeHost Local(string baseDirectory) => _localOverride ?? new LocalNodeHost(baseDirectory);

    /// <summary>Puts <paramref name="host"/> in place of this machine's host until disposed (one process, one cluster).</summary>
    public static IDisposable UseForLocalNodes(INodeHost host)
    {
        _localOverride = host;
        return new Restore();
    }

    private sealed class Restore : IDisposable
    {
        public void Dispose() => _localOverride = null;
    }
}
