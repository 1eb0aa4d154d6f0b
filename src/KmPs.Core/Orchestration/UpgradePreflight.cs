using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.Sgx;
using KmPs.Core.Status;

namespace KmPs.Core.Orchestration;

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
    /// <summary>The new bundle against its version's deployment (<see cref="Bundles.DeploymentCheck"/>); null when not checked.</summary>
    public DeploymentCheckResult? Deployment { get; set; }
    /// <summary>The new bundle's enclave identity (null: no SGX enclave in it), checked against its deployment.</summary>
    public Sgx.EnclaveIdentity? NewEnclave { get; set; }
    /// <summary>The enclave identities of the nodes that stay on the old version (from their deployments' TEE constraints).</summary>
    public IReadOnlyList<Sgx.EnclaveIdentity> CurrentEnclaves { get; set; } = System.Array.Empty<Sgx.EnclaveIdentity>();
    /// <summary>The key manager status the policy was read from.</summary>
    public Policy.KmPolicyStatus? PolicyStatus { get; set; }
    /// <summary>Whether the policy lets the new enclave replicate from the current one; null when it was not read.</summary>
    public Policy.UpgradePolicyCheck? PolicyCheck { get; set; }
    /// <summary>The only problem is a policy update that applies at the next epoch: waiting for it would let the run go on.</summary>
    public bool OnlyWaitingForPolicy => Problems.Count > 0 && Problems.All(p => p.ErrorId == PreflightErrorIds.PolicyNotYetInEffect);

    /// <summary>
    /// "0.6.0 deploys the new enclave 0f1e2d3c/e5f6a7b8 (the nodes run a1b2c3d4/e5f6a7b8, 0.5.0)":
    /// the deployment check the plan passed, for its printout.
    /// </summary>
    public string DeploymentSummary
    {
        get
        {
            var current = CurrentEnclaves.Count == 0 ? "an unknown enclave" : string.Join(", ", CurrentEnclaves.Select(i => i.Short));
            var versions = string.Join(", ", Statuses.Values.Where(s => s.RegisteredVersion is not null && s.RegisteredVersion != Bundle?.Version)
                .Select(s => s.RegisteredVersion!.Value.ToString()).Distinct());
            var nodes = $"the nodes run {current}{(versions.Length > 0 ? ", " + versions : "")}";
            return Deployment is not { Ok: true } d
                ? $"not done ({nodes})"
                : $"{NewVersion} deploys the new enclave {NewEnclave?.Short ?? d.BundleIdentity?.Short}" +
                  $"{(d.BundleChecksumVerified ? " and names this bundle by its manifest hash" : "")} ({nodes})";
        }
    }

    /// <summary>The epoch the run waits for before it touches anything (a dry run's plan: the policy wait accepted); null: none.</summary>
    public ulong? PolicyWaitEpoch { get; private set; }

    /// <summary>
    /// Takes the wait for the next policy instead of its refusal (a -WhatIf run with -WaitForPolicy, which
    /// shows the plan after the wait it would do).
    /// </summary>
    public void AcceptPolicyWait()
    {
        if (!OnlyWaitingForPolicy) throw new InvalidOperationException("the pre-flight has other problems than a policy not yet in effect");
        PolicyWaitEpoch = PolicyCheck?.NextEpoch;
        Problems.Clear();
    }

    public override string ToString() => Ok ? "pre-flight passed" : "pre-flight failed:\n  - " + string.Join("\n  - ", Problems);
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
        TimeSpan timeout, CancellationToken ct)
    {
        var local = new LocalNodeHost(Environment.CurrentDirectory);
        return RunAsync(nodes, bundlePath, midUpgrade, _ => local, timeout, ct);
    }

    /// <param name="hosts">Each node's host (the module's reaches remote nodes through their sessions, on their machines).</param>
    public static async Task<PreflightReport> RunAsync(IReadOnlyList<KmNode> nodes, string bundlePath, ISet<string> midUpgrade,
        Func<KmNode, INodeHost> hosts, TimeSpan timeout, CancellationToken ct)
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
            try { return (n, await hosts(n).GetKmBundlesAsync(n.ConfigPath, ct).ConfigureAwait(false), (string?)null); }
            catch (KmException e) { return (n, (IReadOnlyList<string>?)null, e.Message); }
        })).ConfigureAwait(false);
        var statuses = await Task.WhenAll(nodes.Select(async n =>
        {
            try { return (n, await hosts(n).GetStatusAsync(n.Socket, timeout, ct).ConfigureAwait(false), (string?)null); }
            catch (KmException e) { return (n, (KmStatus?)null, e.Message); }
        })).ConfigureAwait(false);
        // Every step on a node works in its data dir: a user who may not look into it (an SSH user who
        // is not the node's) is refused now, not at the wipe.
        var dataDirs = await Task.WhenAll(nodes.Where(n => n.RuntimeId is not null).Select(async n =>
        {
            try { await hosts(n).ResolveStateAsync(new NodeStateRef(n.DataDir, n.RuntimeId!), ct).ConfigureAwait(false); return (n, (KmException?)null); }
            catch (KmException e) { return (n, e.Category == KmErrorCategory.PermissionDenied ? e : null); } // others: the status read says it
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
                var runtime = (await hosts(source.n).GetRuntimeAsync(source.n.Socket, r.RuntimeId, timeout, ct).ConfigureAwait(false))
                    .WithNodeVersion(source.Item2.SoftwareVersion);
                r.Runtime = runtime;
                if (!otherRuntime)
                {
                    var check = r.Deployment = DeploymentCheck.Verify(r.Bundle, runtime);
                    foreach (var p in check.Problems) r.Add(p.ErrorId, p.Message);
                    if (check.Deployment is { } deployment) r.UpgradeEpoch = deployment.ValidFrom;
                }
                // A bundle of another runtime or network, or an enclave the network did not deploy, could
                // not even register: whether the policy would let it replicate is moot, and saying so is noise.
                if (!otherRuntime && r.Deployment?.Problems.All(p => p.ErrorId == DeploymentErrorIds.BundleChecksumMismatch) != false)
                    await CheckPolicyAsync(r, runtime, statuses.Where(x => x.Item2 is not null && !midUpgrade.Contains(x.n.Name) && !r.Upgraded.Contains(x.n.Name))
                        .Select(x => x.Item2!).ToList(), hosts(source.n), source.n, timeout, ct).ConfigureAwait(false);
            }
            catch (KmException e) { r.Add(DeploymentErrorIds.DeploymentsUnreadable, $"cannot read the runtime's deployments: {e.Message}"); }
        }
        return r;
    }

    /// <summary>
    /// The key manager policy must let the new enclave replicate from the enclave of the nodes that
    /// stay (ReplicationPolicy, after keymanager/src/policy/cached.rs): else the upgraded half waits
    /// for a replication that cannot happen. The current enclave is what the staying nodes' registered
    /// versions' deployments allow; the new one the bundle's (OrcBundle.EnclaveIdentity).
    /// </summary>
    private static async Task CheckPolicyAsync(PreflightReport r, RegistryRuntime runtime, IReadOnlyList<KmStatus> staying,
        INodeHost host, KmNode source, TimeSpan timeout, CancellationToken ct)
    {
        r.NewEnclave = r.Bundle!.EnclaveIdentity;
        if (r.NewEnclave is null) return;
        var current = staying.Select(s => s.RegisteredVersion).Where(v => v is not null).Distinct()
            .SelectMany(v => runtime.Find(v!.Value)?.Enclaves ?? Array.Empty<EnclaveIdentity>()).ToList();
        // Nodes already ready on the new version (a resumed run) are sources too: the same enclave always replicates.
        if (r.Upgraded.Count > 0) current.Add(r.NewEnclave);
        r.CurrentEnclaves = current.Distinct().ToList();
        try { r.PolicyStatus = await host.GetPolicyStatusAsync(source.Socket, r.RuntimeId!, timeout, ct).ConfigureAwait(false); }
        catch (KmException e)
        {
            r.Add(PreflightErrorIds.PolicyUnreadable, $"cannot read the key manager policy, so whether the new enclave may replicate is unknown: {e.Message}");
            return;
        }
        var check = r.PolicyCheck = Policy.ReplicationPolicy.ForUpgrade(r.PolicyStatus, r.CurrentEnclaves, r.NewEnclave);
        var refusal = (check.Next is { Allowed: false } next && check.Outcome == Policy.UpgradePolicyOutcome.RevokedFromNextEpoch ? next : check.Now)?.Decision;
        switch (check.Outcome)
        {
            case Policy.UpgradePolicyOutcome.Forbidden:
                r.Add(refusal switch
                {
                    Policy.ReplicationDecision.NoPolicy => PreflightErrorIds.PolicyMissing,
                    Policy.ReplicationDecision.NoEntryForNew => PreflightErrorIds.PolicyNoEntryForNewEnclave,
                    _ => PreflightErrorIds.PolicyReplicationNotAllowed,
                }, $"{check.Message}: the upgraded nodes could never replicate the key material; the policy signers must add an entry for the new enclave and list it in the current enclave's may_replicate (Get-KmPolicy shows the policy)");
                break;
            case Policy.UpgradePolicyOutcome.AllowedFromNextEpoch:
                r.Add(PreflightErrorIds.PolicyNotYetInEffect,
                    $"{check.Message}; run with -WaitForPolicy to wait for epoch {check.NextEpoch} before touching any node, or run again from epoch {check.NextEpoch}");
                break;
            case Policy.UpgradePolicyOutcome.RevokedFromNextEpoch:
                r.Add(PreflightErrorIds.PolicyRevokedNextEpoch,
                    $"{check.Message}: the upgraded nodes would replicate under the next policy; ask the policy signers to keep the new enclave in it");
                break;
        }
    }
}
