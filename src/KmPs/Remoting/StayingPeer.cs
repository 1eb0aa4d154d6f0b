using System.Management.Automation;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.LocalState;
using KmPs.Core;

namespace KmPs.Remoting;

/// <summary>A staying peer of a wipe: a node read where it runs (here, or on its machine through its session).</summary>
internal sealed record StayingPeer(string Display, INodeHost Host, string Socket)
{
    public bool SameNode(INodeHost host, string socket) => Host.SameSocket(Socket, host, socket);

    /// <summary>What the guard needs of the peer; an unreadable peer is reported, not thrown.</summary>
    public async Task<PeerCheck> ReadAsync(TimeSpan timeout, CancellationToken ct)
    {
        try { return WipeGuard.FromStatus(Display, await Host.GetStatusAsync(Socket, timeout, ct).ConfigureAwait(false)); }
        catch (KmException e) { return new PeerCheck(Display, null, null, e.Message); }
    }

    /// <summary>Peers as given: sockets or data dirs on this machine, or nodes (a remote node is read through its session).</summary>
    public static IReadOnlyList<StayingPeer> From(object[] peers, string baseDirectory) => peers.Select(p =>
    {
        var o = p is PSObject ps ? ps.BaseObject : p;
        return o switch
        {
            KmNode n => Of(NodeHosts.For(n, baseDirectory), n.Socket),
            string s => Of(NodeHosts.Local(baseDirectory), s),
            PSCustomObject when p is PSObject holder && holder.Properties["Socket"]?.Value is { } v =>
                Of(NodeHosts.For(KmRemoting.AsSession(holder.Properties["Session"]?.Value), null, baseDirectory), v.ToString()!),
            _ => throw new KmException(RemotingErrorIds.InvalidPeer, KmErrorCategory.InvalidArgument,
                $"A required peer must be a socket address, a data dir or a node, not a {o?.GetType().Name ?? "null"}.", p),
        };
    }).ToList();

    /// <summary>The socket is checked now (absolute on another machine); shown as this machine's address or "socket on host".</summary>
    private static StayingPeer Of(INodeHost host, string socket)
    {
        var address = host.Address(socket);
        return new StayingPeer(host.Machine.Length == 0 ? address.ToString() : $"{socket} on {host.Machine}", host, socket);
    }
}
