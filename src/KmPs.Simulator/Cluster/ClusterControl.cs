using KmPs.Core.Control;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Simulator.Cluster;

/// <summary>Whole-cluster start, stop and status, for the launcher, the sandbox and tests.</summary>
public static class ClusterControl
{
    /// <summary>
    /// Starts every node and waits until all are ready. A cluster that never ran has its epoch
    /// clock re-based to now first, so "v2 in 10 epochs" counts from the start, not the creation.
    /// </summary>
    /// <param name="start">Starts one node; default: here, as this user (a node on another "machine" is started there).</param>
    public static async Task StartAllAsync(ClusterLayout layout, TimeSpan timeout, CancellationToken ct, Action<string>? start = null)
    {
        start ??= node => NodeProcesses.Start(layout, node, timeout);
        var spec = ClusterSpec.Load(layout);
        var chain = new Chain(layout);
        if (chain.KeyManagerStatus() is null && chain.Registrations().Count == 0)
        {
            spec.GenesisUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            spec.Save(layout);
        }
        var started = spec.Nodes.Select(n => Task.Run(() => start(n.Name), ct)).ToArray();
        await Task.WhenAll(started).ConfigureAwait(false);
        await WaitAllReadyAsync(layout, spec.Nodes.Select(n => n.Name), timeout, ct).ConfigureAwait(false);
    }

    public static async Task WaitAllReadyAsync(ClusterLayout layout, IEnumerable<string> nodes, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var pending = nodes.ToList();
        while (pending.Count > 0)
        {
            var states = await Task.WhenAll(pending.Select(async n =>
            {
                try { return (n, await ControlClient.For(SocketAddress.Parse(layout.SocketPath(n))).IsReadyAsync(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false)); }
                catch (KmException) { return (n, false); }
            })).ConfigureAwait(false);
            pending = states.Where(s => !s.Item2).Select(s => s.n).ToList();
            if (pending.Count == 0) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"nodes not ready after {timeout.TotalSeconds:0} s: {string.Join(", ", pending)}");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sets the upgrade epoch of an already listed version to now + <paramref name="inEpochs"/>, as
    /// the runtime owner's registry update would; running nodes pick it up on their next tick.
    /// </summary>
    public static ulong Deploy(ClusterLayout layout, string version, int inEpochs)
    {
        var chain = new Chain(layout);
        var deployments = chain.Deployments();
        var d = deployments.FirstOrDefault(x => x.Version == version)
                ?? throw new ArgumentException($"version {version} has no bundle deployment in this cluster");
        var now = EpochClock.Of(ClusterSpec.Load(layout)).Now;
        if (d.ValidFrom <= now && deployments.Count(x => x.ValidFrom <= now) > 1 && deployments.Where(x => x.ValidFrom <= now).Max(x => x.ValidFrom) == d.ValidFrom)
            throw new InvalidOperationException($"version {version} is already the active deployment; it cannot be moved");
        d.ValidFrom = now + (ulong)Math.Max(1, inEpochs);
        chain.SaveDeployments(deployments);
        return d.ValidFrom;
    }

    /// <summary>
    /// Replaces the key manager policy as the policy signers' UpdatePolicy transaction would: at once
    /// (no <paramref name="appliesAt"/>, or an epoch already reached), or from an epoch on, shown by
    /// 25.6+ nodes as next_policy from <paramref name="visibleFrom"/> (default: the epoch before).
    /// The serial must increase (SanityCheckSignedPolicySGX). Running nodes read it at their next tick.
    /// </summary>
    /// <returns>The epoch from which the policy is in effect.</returns>
    public static ulong SetPolicy(ClusterLayout layout, SimPolicy policy, ulong? appliesAt = null, ulong? visibleFrom = null)
    {
        var chain = new Chain(layout);
        var state = chain.PolicyState();
        var now = EpochClock.Of(ClusterSpec.Load(layout)).Now;
        if (state.Next is not null && now >= state.Next.AppliesAt) (state.Current, state.Next) = (state.Next.Policy, null);
        var latest = state.Next?.Policy.Serial ?? state.Current.Serial;
        if (policy.Serial <= latest)
            throw new ArgumentException($"keymanager: sanity check failed: SGX policy serial number did not increase ({policy.Serial} after {latest})");
        if (appliesAt is not { } at || at <= now)
        {
            state.Current = policy;
            state.Next = null;
        }
        else state.Next = new ScheduledPolicy { Policy = policy, AppliesAt = at, VisibleFrom = visibleFrom };
        chain.SavePolicy(state);
        return appliesAt is { } a && a > now ? a : now;
    }

    /// <summary>
    /// The latest policy (scheduled or in effect) with the next serial, changed so that the new version's
    /// enclave may (or, with <paramref name="allow"/> false, may not) replicate from the old version's:
    /// an entry for the new enclave, and the new identity in the old entry's may_replicate.
    /// </summary>
    public static SimPolicy UpgradePolicy(ClusterLayout layout, string oldVersion, string newVersion, bool allow = true)
    {
        var chain = new Chain(layout);
        var deployments = chain.Deployments();
        string IdentityOf(string v) => deployments.FirstOrDefault(d => d.Version == v)?.Identity
                                       ?? throw new ArgumentException($"version {v} has no deployment with an enclave identity in this cluster");
        var (oldId, newId) = (IdentityOf(oldVersion), IdentityOf(newVersion));
        var state = chain.PolicyState();
        var p = (state.Next?.Policy ?? state.Current).Clone();
        p.Serial++;
        var old = p.Enclaves.FirstOrDefault(e => string.Equals(e.Enclave, oldId, StringComparison.OrdinalIgnoreCase));
        if (old is null) p.Enclaves.Add(old = ClusterBuilder.PolicyEntry(oldId, Array.Empty<string>()));
        old.MayReplicate.RemoveAll(x => string.Equals(x, newId, StringComparison.OrdinalIgnoreCase));
        p.Enclaves.RemoveAll(e => string.Equals(e.Enclave, newId, StringComparison.OrdinalIgnoreCase));
        if (allow)
        {
            old.MayReplicate.Add(newId);
            p.Enclaves.Add(ClusterBuilder.PolicyEntry(newId, Array.Empty<string>()));
        }
        return p;
    }

    public static void StopAll(ClusterLayout layout)
    {
        var spec = ClusterSpec.Load(layout);
        Parallel.ForEach(spec.Nodes, n => NodeProcesses.Stop(layout, n.Name, TimeSpan.FromSeconds(20)));
    }

    public static async Task<IReadOnlyList<string>> StatusLinesAsync(ClusterLayout layout)
    {
        var spec = ClusterSpec.Load(layout);
        var lines = new List<string> { $"epoch {EpochClock.Of(spec).Now}" };
        foreach (var n in spec.Nodes)
        {
            var running = NodeProcesses.IsRunning(layout, n.Name, out var pid);
            string state;
            try
            {
                var s = await ControlClient.For(SocketAddress.Parse(layout.SocketPath(n.Name))).GetStatusAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                state = $"{s.Status,-8} v{s.RegisteredVersion} checksum {(s.Checksum is null ? "-" : s.Checksum[..16])}";
            }
            catch (KmException e) { state = e.ErrorId; }
            lines.Add($"{n.Name,-6} {(running ? $"pid {pid}" : "stopped"),-10} {state}");
        }
        return lines;
    }
}
