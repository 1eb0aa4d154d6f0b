using KmPs.Bundles;
using KmPs.Config;
using KmPs.Control;
using KmPs.Inventory;
using KmPs.Sgx;
using KmPs.Status;

namespace KmPs.Orchestration;

/// <summary>
/// One reason the pre-flight refuses: its own stable ErrorId (the run as a whole stops with
/// PreflightFailed, and its error's TargetObject lists these), the node it concerns if any, and the text.
/// </summary>
public sealed record PreflightProblem(string ErrorId, string Message, string? Node = null)
{
    public override string ToString() => Message;
}

/// <summary>What the pre-flight found: every problem at once, and what the plan needs.</summary>
public sealed class PreflightReport
{
    public bool Ok => Problems.Count == 0;
    public List<PreflightProblem> Problems { get; } = new();

    public void Add(string errorId, string message, string? node = null) => Problems.Add(new PreflightProblem(errorId, message, node));
    public Dictionary<string, KmStatus> Statuses { get; } = new();
    public OrcBundle? Bundle { get; set; }
    public string? NewVersion => Bundle?.Version.ToString();
    public string? RuntimeId { get; set; }
    public ulong UpgradeEpoch { get; set; }
    public ulong CurrentEpoch { get; set; }
    public string? Checksum { get; set; }
    /// <summary>Nodes already registered and ready with the new version.</summary>
    public HashSet<string> Upgraded { get; } = new();
    /// <summary>The runtime as the network records it (Registry/GetRuntime), read from the first node that answered.</summary>
    public RegistryRuntime? Runtime { get; set; }
    /// <summary>The new version's deployment, when the bundle matched it (<see cref="DeploymentCheck"/>).</summary>
    public RuntimeDeployment? NewDeployment { get; set; }
    /// <summary>The enclave identity the new bundle runs as (checked against <see cref="NewDeployment"/>).</summary>
    public EnclaveIdentity? NewIdentity => Bundle?.EnclaveIdentity;
    /// <summary>
    /// The identities the staying nodes run as: the enclaves of the deployments of the versions they
    /// are registered with (else of the deployment active now).
    /// </summary>
    public List<EnclaveIdentity> OldIdentities { get; } = new();

    /// <summary>"a1b2c3d4/e5f6a7b8 (0.5.0) -> 0f1e2d3c/e5f6a7b8 (0.6.0)": what the plan checked, for its printout.</summary>
    public string EnclaveSummary
    {
        get
        {
            var old = OldIdentities.Count == 0 ? "(unknown)" : string.Join(", ", OldIdentities.Select(i => i.Short));
            var oldVersions = string.Join(", ", Statuses.Values.Where(s => s.RegisteredVersion is not null && s.RegisteredVersion != Bundle?.Version)
                .Select(s => s.RegisteredVersion!.Value.ToString()).Distinct());
            return $"{old}{(oldVersions.Length > 0 ? $" ({oldVersions})" : "")} -> {NewIdentity?.Short ?? "(unknown)"} ({NewVersion}, " +
                   $"{(NewDeployment is null ? "not checked" : "in its deployment")})";
        }
    }

    public override string ToString() => Ok ? "pre-flight passed" : "pre-flight failed:\n  - " + string.Join("\n  - ", Problems);
}

/// <summary>
/// How the pre-flight reads a node: on this machine directly, or (the module's remoting reader)
/// on the node's own machine through its PowerShell remoting session. Failures are KmExceptions.
/// </summary>
public interface INodeReader
{
    Task<KmStatus> GetStatusAsync(KmNode node, TimeSpan timeout, CancellationToken ct);
    /// <summary>The key manager bundle paths the node's config lists.</summary>
    Task<IReadOnlyList<string>> GetKmBundlesAsync(KmNode node, CancellationToken ct);
    Task<RegistryRuntime> GetRuntimeAsync(KmNode node, string runtimeId, TimeSpan timeout, CancellationToken ct);
    /// <summary>Whether the node's data dir can be looked into where its steps run (the wipe must); throws DataDirUnreadable or LocalStateUnreadable if not.</summary>
    Task CheckDataDirAsync(KmNode node, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>Reads nodes on this machine: control socket and config file.</summary>
public sealed class LocalNodeReader : INodeReader
{
    public static readonly LocalNodeReader Instance = new();

    public Task<KmStatus> GetStatusAsync(KmNode node, TimeSpan timeout, CancellationToken ct) =>
        ControlClient.For(SocketAddress.Parse(node.Socket)).GetStatusAsync(timeout, ct);

    public Task<IReadOnlyList<string>> GetKmBundlesAsync(KmNode node, CancellationToken ct) =>
        Task.FromResult(KmBundlesOf(node.ConfigPath!));

    public static IReadOnlyList<string> KmBundlesOf(string configPath) =>
        NodeConfig.Load(configPath).FindKmBundles().Select(b => b.FullPath).ToList();

    public Task<RegistryRuntime> GetRuntimeAsync(KmNode node, string runtimeId, TimeSpan timeout, CancellationToken ct) =>
        ControlClient.For(SocketAddress.Parse(node.Socket)).GetRuntimeAsync(Convert.FromHexString(runtimeId), 0, timeout, ct);

    public Task CheckDataDirAsync(KmNode node, CancellationToken ct)
    {
        _ = LocalState.LocalStatePath.Resolve(node.DataDir, node.RuntimeId).Exists;
        return Task.CompletedTask;
    }
}

/// <summary>
/// Everything Invoke-KmSafeUpgrade checks before touching anything (issue: pre-flight): at least
/// two nodes; all ready with one checksum; the ORC valid, of this KM runtime, and a deployed version
/// with a known upgrade epoch; each config naming exactly one KM bundle; lifecycles usable.
/// </summary>
public static class UpgradePreflight
{
    /// <param name="midUpgrade">Nodes a resumed run already touched: they may be down or on the new version.</param>
    public static Task<PreflightReport> RunAsync(IReadOnlyList<KmNode> nodes, string bundlePath, ISet<string> midUpgrade,
        TimeSpan timeout, CancellationToken ct) => RunAsync(nodes, bundlePath, midUpgrade, LocalNodeReader.Instance, timeout, ct);

    /// <param name="reader">How nodes are read (the module passes one that reaches remote nodes through their sessions).</param>
    public static async Task<PreflightReport> RunAsync(IReadOnlyList<KmNode> nodes, string bundlePath, ISet<string> midUpgrade,
        INodeReader reader, TimeSpan timeout, CancellationToken ct)
    {
        var r = new PreflightReport();
        if (nodes.Count == 0) { r.Add(PreflightErrorIds.NoNodes, "no nodes were given"); return r; }
        foreach (var dup in nodes.GroupBy(n => n.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            r.Add(PreflightErrorIds.DuplicateNodeName, $"the node name '{dup.Key}' is given {dup.Count()} times");
        // The same socket path on two machines is two nodes (every host may use /node/data/internal.sock).
        foreach (var dup in nodes.GroupBy(n => (n.Machine, n.Socket)).Where(g => g.Count() > 1))
            r.Add(PreflightErrorIds.SharedSocket, $"nodes {string.Join(", ", dup.Select(n => n.Name))} share the control socket {dup.Key.Item2}: they are one node");
        foreach (var dup in nodes.Where(n => !n.IsRemote && Directory.Exists(n.DataDir))
                     .GroupBy(n => LocalState.LocalStatePath.RealPath(n.DataDir)).Where(g => g.Count() > 1))
            r.Add(PreflightErrorIds.SharedDataDir, $"nodes {string.Join(", ", dup.Select(n => n.Name))} share the data dir {dup.Key}: they are one node");
        foreach (var n in nodes.Where(n => UpgradePlanner.ReservedNames.Contains(n.Name, StringComparer.OrdinalIgnoreCase)))
            r.Add(PreflightErrorIds.ReservedNodeName, $"'{n.Name}' is a reserved name (the journal uses it for a phase); rename the node");
        if (nodes.Count == 1)
            r.Add(PreflightErrorIds.SingleNode, $"only one key manager node ({nodes[0].Name}): wiping it would lose the only copy of the key material; add a second node first");

        try { r.Bundle = OrcBundle.Open(bundlePath); }
        catch (KmException e) { r.Add(PreflightErrorIds.BundleUnusable, $"the new bundle is not usable: {e.Message}"); }

        var ids = nodes.Select(n => n.RuntimeId).Distinct().ToList();
        if (ids.Count != 1 || ids[0] is null)
            r.Add(PreflightErrorIds.RuntimeIdAmbiguous, "the nodes do not all name one key manager runtime id (give RuntimeId or ConfigPath in the inventory)");
        r.RuntimeId = ids.FirstOrDefault(i => i is not null);
        var otherRuntime = false;
        if (r.Bundle is not null)
        {
            // A bundle of the other network's key manager says so by name (Testnet on Mainnet nodes, or the reverse).
            if (r.RuntimeId is not null && DeploymentCheck.NetworkProblem(r.Bundle, r.RuntimeId) is { } network)
            {
                otherRuntime = true;
                if (network.ErrorId == DeploymentErrorIds.BundleOtherNetwork || r.Bundle.IsKeyManager) r.Add(network.ErrorId, network.Message);
                else r.Add(PreflightErrorIds.BundleNotKeyManager, $"{bundlePath} is not a key manager bundle (runtime {r.Bundle.RuntimeId})");
            }
            else if (!r.Bundle.IsKeyManager) r.Add(PreflightErrorIds.BundleNotKeyManager, $"{bundlePath} is not a key manager bundle (runtime {r.Bundle.RuntimeId})");
        }

        // Configs and statuses of all nodes at once (remote nodes answer concurrently, each through its session).
        var configs = await Task.WhenAll(nodes.Select(async n =>
        {
            if (n.ConfigPath is null) return (n, (IReadOnlyList<string>?)null, (string?)null);
            try { return (n, await reader.GetKmBundlesAsync(n, ct).ConfigureAwait(false), (string?)null); }
            catch (KmException e) { return (n, (IReadOnlyList<string>?)null, e.Message); }
        })).ConfigureAwait(false);
        var statuses = await Task.WhenAll(nodes.Select(async n =>
        {
            try { return (n, await reader.GetStatusAsync(n, timeout, ct).ConfigureAwait(false), (string?)null); }
            catch (KmException e) { return (n, (KmStatus?)null, e.Message); }
        })).ConfigureAwait(false);
        // Every step on a node works in its data dir: a user who may not look into it (an SSH user who
        // is not the node's) is refused now, not at the wipe.
        var dataDirs = await Task.WhenAll(nodes.Where(n => n.RuntimeId is not null).Select(async n =>
        {
            try { await reader.CheckDataDirAsync(n, ct).ConfigureAwait(false); return (n, (KmException?)null); }
            catch (KmException e) when (e.Category == KmErrorCategory.PermissionDenied) { return (n, e); }
        })).ConfigureAwait(false);
        foreach (var (n, e) in dataDirs)
            if (e is not null) r.Add(PreflightErrorIds.DataDirNotUsable, $"{n.Name}: {e.Message.TrimEnd('.')} ({e.ErrorId})", n.Name);
        foreach (var (n, km, error) in configs)
        {
            if (n.Lifecycle == LifecycleKind.None) r.Add(PreflightErrorIds.NoLifecycle, $"{n.Name}: no lifecycle (systemd unit or start/stop scripts), the node cannot be stopped and started", n.Name);
            if (n.ConfigPath is null) { r.Add(PreflightErrorIds.NoConfigPath, $"{n.Name}: no ConfigPath, the bundle cannot be swapped", n.Name); continue; }
            if (error is not null) r.Add(PreflightErrorIds.ConfigUnusable, $"{n.Name}: {error}", n.Name);
            else if (km!.Count != 1 && !midUpgrade.Contains(n.Name))
                r.Add(PreflightErrorIds.ConfigKmBundleCount, $"{n.Name}: {n.ConfigPath} lists {km.Count} key manager bundles; a key manager node runs exactly one", n.Name);
        }

        foreach (var (n, s, error) in statuses)
        {
            if (s is null)
            {
                if (!midUpgrade.Contains(n.Name)) r.Add(PreflightErrorIds.StatusUnreadable, $"{n.Name}: cannot read its status: {error}", n.Name);
                continue;
            }
            s.Name = n.Name;
            r.Statuses[n.Name] = s;
            if (midUpgrade.Contains(n.Name)) continue;
            if (!s.IsReady) r.Add(PreflightErrorIds.NodeNotReady, $"{n.Name}: key manager is {s.Status}, not ready", n.Name);
            else if (s.Checksum is null) r.Add(PreflightErrorIds.NoInitResponse, $"{n.Name}: ready but registered without an init response", n.Name);
            if (r.Bundle is not null && s.IsReady && s.RegisteredVersion == r.Bundle.Version) r.Upgraded.Add(n.Name);
        }
        // One node reached under two names (a host name and its IP, two spellings of one socket) is
        // one holder of the key material, not two: identity.node is the node's own public key.
        foreach (var dup in r.Statuses.Where(kv => kv.Value.IdentityNode is not null)
                     .GroupBy(kv => kv.Value.IdentityNode!).Where(g => g.Count() > 1))
            r.Add(PreflightErrorIds.SameNodeTwice, $"nodes {string.Join(", ", dup.Select(kv => kv.Key))} report one node identity ({dup.Key}): they are one node reached under two names; keep one entry");
        var checksums = r.Statuses.Where(kv => !midUpgrade.Contains(kv.Key) && kv.Value.Checksum is not null)
            .Select(kv => kv.Value.Checksum!).Distinct().ToList();
        if (checksums.Count > 1) r.Add(PreflightErrorIds.ChecksumDisagreement, $"the nodes disagree on the checksum ({string.Join(", ", checksums.Select(Hex.Short))}): fix replication before upgrading");
        r.Checksum = checksums.Count == 1 ? checksums[0] : null;
        r.CurrentEpoch = r.Statuses.Values.Select(s => s.Epoch).DefaultIfEmpty(0UL).Max();

        var source = statuses.FirstOrDefault(x => x.Item2 is not null);
        if (r.Bundle is not null && r.RuntimeId is not null && source.Item2 is not null)
        {
            try
            {
                // The node's version says what a deployment's bundle_checksum is (the manifest hash from 25.0).
                var runtime = (await reader.GetRuntimeAsync(source.n, r.RuntimeId, timeout, ct).ConfigureAwait(false))
                    .WithNodeVersion(source.Item2.SoftwareVersion);
                r.Runtime = runtime;
                FindOldIdentities(r, runtime, midUpgrade);
                if (!otherRuntime)
                {
                    var check = DeploymentCheck.Verify(r.Bundle, runtime);
                    foreach (var p in check.Problems) r.Add(p.ErrorId, p.Message);
                    if (check.Deployment is { } deployment) r.UpgradeEpoch = deployment.ValidFrom;
                    if (check.Ok) r.NewDeployment = check.Deployment;
                }
            }
            catch (KmException e) { r.Add(PreflightErrorIds.DeploymentsUnreadable, $"cannot read the runtime's deployments: {e.Message}"); }
        }
        return r;
    }

    /// <summary>The staying nodes' enclaves: those the deployments of their registered versions allow.</summary>
    private static void FindOldIdentities(PreflightReport r, RegistryRuntime runtime, ISet<string> midUpgrade)
    {
        var versions = r.Statuses.Where(kv => !midUpgrade.Contains(kv.Key) && !r.Upgraded.Contains(kv.Key) && kv.Value.RegisteredVersion is not null)
            .Select(kv => kv.Value.RegisteredVersion!.Value).Distinct().ToList();
        var deployments = versions.Select(runtime.Find).Where(d => d is not null).ToList();
        if (deployments.Count == 0 && runtime.ActiveAt(r.CurrentEpoch) is { } active) deployments.Add(active);
        r.OldIdentities.AddRange(deployments.SelectMany(d => d!.Enclaves).Distinct());
    }
}
