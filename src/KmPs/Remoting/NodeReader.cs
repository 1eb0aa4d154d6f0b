using KmPs.Inventory;
using KmPs.Orchestration;
using KmPs.Status;

namespace KmPs.Remoting;

/// <summary>
/// The pre-flight's reader for a mixed inventory: local nodes directly, remote nodes on their own
/// machine through their sessions (each session one call at a time, sessions concurrently).
/// Used by Invoke-KmSafeUpgrade.
/// </summary>
public sealed class NodeReader : INodeReader
{
    public async Task<KmStatus> GetStatusAsync(KmNode node, TimeSpan timeout, CancellationToken ct)
    {
        if (!node.IsRemote) return await LocalNodeReader.Instance.GetStatusAsync(node, timeout, ct).ConfigureAwait(false);
        var status = await KmRemoting.StatusAsync(KmRemoting.SessionOf(node), node.Name, node.Socket, timeout, ct).ConfigureAwait(false);
        status.Name = node.Name;
        return status;
    }

    public async Task<IReadOnlyList<string>> GetKmBundlesAsync(KmNode node, CancellationToken ct) =>
        !node.IsRemote
            ? await LocalNodeReader.Instance.GetKmBundlesAsync(node, ct).ConfigureAwait(false)
            : await KmRemoting.OpAsync<string[]>(KmRemoting.SessionOf(node), node.Name, "KmBundles", new { node.ConfigPath }, ct).ConfigureAwait(false);

    public async Task<RegistryRuntime> GetRuntimeAsync(KmNode node, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        !node.IsRemote
            ? await LocalNodeReader.Instance.GetRuntimeAsync(node, runtimeId, timeout, ct).ConfigureAwait(false)
            : await KmRemoting.OpAsync<RegistryRuntime>(KmRemoting.SessionOf(node), node.Name, "Runtime",
                new { node.Socket, RuntimeId = runtimeId, TimeoutMs = (int)timeout.TotalMilliseconds }, ct).ConfigureAwait(false);

    public async Task<Policy.KmPolicyStatus> GetPolicyStatusAsync(KmNode node, string runtimeId, TimeSpan timeout, CancellationToken ct)
    {
        if (!node.IsRemote) return await LocalNodeReader.Instance.GetPolicyStatusAsync(node, runtimeId, timeout, ct).ConfigureAwait(false);
        var session = KmRemoting.SessionOf(node);
        var answer = await KmRemoting.OpAsync<Control.KmStatusAnswer>(session, node.Name, "KeyManagerStatus",
            new { node.Socket, RuntimeId = runtimeId, TimeoutMs = (int)timeout.TotalMilliseconds }, ct).ConfigureAwait(false);
        return answer.Parse($"{node.Name} ({node.Socket} on {KmRemoting.Describe(session)})");
    }

    public async Task CheckDataDirAsync(KmNode node, CancellationToken ct)
    {
        if (!node.IsRemote) await LocalNodeReader.Instance.CheckDataDirAsync(node, ct).ConfigureAwait(false);
        else await KmRemoting.OpAsync<RemoteStatePath>(KmRemoting.SessionOf(node), node.Name, "StatePath", new { node.DataDir, node.RuntimeId }, ct).ConfigureAwait(false);
    }
}
