using KmPs.Core.Inventory;
using KmPs.Core.Status;

namespace KmPs.Core.Orchestration;

/// <summary>One step of the safe upgrade, as the plan prints it and the journal records it.</summary>
public sealed record UpgradeStep(int Index, string Phase, string Node, string Action, string Description)
{
    /// <summary>Stable key for the journal: "km3:Wipe", "first:VerifyAgain".</summary>
    public string Key => $"{Node}:{Action}";
    public bool IsDestructive => Action is "Stop" or "Wipe" or "SetBundle";
}

/// <summary>
/// The half/half plan: which nodes stay on the old version while the first half upgrades, the
/// ordered steps, and what is skipped (nodes already on the new version).
/// </summary>
public sealed class UpgradePlan
{
    public string NewVersion { get; init; } = "";
    public string BundlePath { get; init; } = "";
    public string RuntimeId { get; init; } = "";
    public ulong UpgradeEpoch { get; init; }
    public int VerifyEpochs { get; init; } = 1;
    public IReadOnlyList<string> FirstHalf { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> SecondHalf { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Skipped { get; init; } = Array.Empty<string>();
    public IReadOnlyList<UpgradeStep> Steps { get; init; } = Array.Empty<UpgradeStep>();
    /// <summary>Identifies the run for the journal: same nodes, bundle and version.</summary>
    public string PlanId { get; init; } = "";

    public override string ToString() =>
        $"upgrade to {NewVersion} at epoch {UpgradeEpoch}: first {string.Join(", ", FirstHalf)}; then {string.Join(", ", SecondHalf)}" +
        (Skipped.Count > 0 ? $"; already upgraded {string.Join(", ", Skipped)}" : "");
}

public static class UpgradePlanner
{
    public static readonly string[] NodeActions = { "Stop", "Wipe", "SetBundle", "Start" };

    /// <summary>Phase names in journal keys ("first:Verify"); no node may be called so.</summary>
    public static readonly string[] ReservedNames = { "first", "second", "final" };

    /// <param name="nodes">All nodes, in inventory order.</param>
    /// <param name="bundleDigest">The ORC's <see cref="Bundles.OrcBundle.ContentDigest"/>: a journal never resumes with other bundle bytes at the same path.</param>
    public static string PlanId(IReadOnlyList<KmNode> nodes, string bundlePath, OasisVersion newVersion, string? bundleDigest = null) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            string.Join("|", nodes.Select(NodeKey)) + "|" + bundlePath + "|" + newVersion + "|" + bundleDigest)))[..16].ToLowerInvariant();

    // Where a node's state is: its machine (a node moved to another host is another node's state) and data dir.
    // A local node keeps the key of earlier versions, so their journals still resume.
    private static string NodeKey(KmNode n) =>
        string.IsNullOrEmpty(n.HostName) ? n.Name + "@" + n.DataDir : n.Name + "@" + n.HostName!.ToLowerInvariant() + ":" + n.DataDir;

    /// <summary>Rebuilds the plan of a resumed run from the halves its journal recorded.</summary>
    public static UpgradePlan Resume(IReadOnlyList<KmNode> nodes, JournalHalves halves, OasisVersion newVersion, string bundlePath,
        string runtimeId, ulong upgradeEpoch, int verifyEpochs = 1, string? bundleDigest = null)
    {
        var known = nodes.Select(n => n.Name).ToHashSet();
        if (!halves.FirstHalf.Concat(halves.SecondHalf).Concat(halves.Skipped).All(known.Contains))
            throw new KmException(UpgradeErrorIds.JournalMismatch, KmErrorCategory.InvalidOperation, "The journal names nodes that are not in the inventory.", null);
        return Build(nodes, halves.FirstHalf, halves.SecondHalf, halves.Skipped, newVersion, bundlePath, runtimeId, upgradeEpoch, verifyEpochs, bundleDigest);
    }

    /// <param name="nodes">All nodes, in inventory order.</param>
    /// <param name="upgraded">Names of nodes already registered with the new version (skipped).</param>
    /// <param name="firstHalfCount">Nodes in the first half; default about half, never all of the old-version nodes while two or more are left.</param>
    public static UpgradePlan Plan(IReadOnlyList<KmNode> nodes, ISet<string> upgraded, OasisVersion newVersion, string bundlePath,
        string runtimeId, ulong upgradeEpoch, int? firstHalfCount = null, int verifyEpochs = 1, string? bundleDigest = null)
    {
        if (nodes.Count == 0) throw new KmException(PreflightErrorIds.NoNodes, KmErrorCategory.InvalidArgument, "No nodes to upgrade.", null);
        var candidates = nodes.Where(n => !upgraded.Contains(n.Name)).Select(n => n.Name).ToList();
        var skipped = nodes.Where(n => upgraded.Contains(n.Name)).Select(n => n.Name).ToList();
        if (candidates.Count == 1 && skipped.Count == 0)
            throw new KmException(UpgradeErrorIds.SingleNodeRefused, KmErrorCategory.InvalidOperation,
                "Only one key manager node: upgrading it means wiping the only copy of the key material, which would be lost for good.", nodes[0].Name)
            {
                RecommendedAction = "Add a second key manager node on the old version and let it replicate before upgrading.",
            };
        // While two or more nodes are on the old version, one of them always waits until the first
        // half is verified twice: nodes already on the new version hold the keys too, but were never
        // verified by this run. Only the last old-version node may go with the new ones as holders.
        var maxFirst = candidates.Count <= 1 ? candidates.Count : candidates.Count - 1;
        // Default: about half of all nodes go first. Nodes already on the new version count toward
        // that half; at least one old-version node always waits for the two verifications, unless
        // it is the only one left.
        var first = firstHalfCount ?? Math.Clamp(nodes.Count / 2 - skipped.Count, 1, Math.Max(1, candidates.Count - 1));
        if (firstHalfCount is not null && (first < 1 || first > maxFirst))
            throw new KmException(UpgradeErrorIds.InvalidFirstHalf, KmErrorCategory.InvalidArgument,
                $"-FirstHalfCount must be between 1 and {maxFirst}: at least one node must stay on the old version while the first half upgrades.", firstHalfCount);
        first = Math.Clamp(first, 0, maxFirst);
        // Upgrade the last nodes of the inventory first, so the first ones (often the oldest) stay.
        var firstHalf = candidates.Skip(candidates.Count - first).ToList();
        var secondHalf = candidates.Take(candidates.Count - first).ToList();
        return Build(nodes, firstHalf, secondHalf, skipped, newVersion, bundlePath, runtimeId, upgradeEpoch, verifyEpochs, bundleDigest);
    }

    private static UpgradePlan Build(IReadOnlyList<KmNode> nodes, IReadOnlyList<string> firstHalf, IReadOnlyList<string> secondHalf,
        IReadOnlyList<string> skipped, OasisVersion newVersion, string bundlePath, string runtimeId, ulong upgradeEpoch, int verifyEpochs, string? bundleDigest)
    {
        var steps = new List<UpgradeStep>();
        void Add(string phase, string node, string action, string text) => steps.Add(new UpgradeStep(steps.Count + 1, phase, node, action, text));
        void Half(string phase, IReadOnlyList<string> half, IReadOnlyList<string> staying)
        {
            foreach (var n in half)
            {
                Add(phase, n, "Stop", $"Stop {n} and confirm its control socket is silent");
                Add(phase, n, "Wipe", $"Move {n}'s sealed state aside (only while {string.Join(", ", staying)} are ready with one checksum)");
                Add(phase, n, "SetBundle", $"Point {n}'s config at {Path.GetFileName(bundlePath)} ({newVersion})");
                Add(phase, n, "Start", $"Start {n} and wait until its control socket answers");
            }
        }
        if (firstHalf.Count > 0)
        {
            Half("first", firstHalf, secondHalf.Concat(skipped).ToList());
            Add("first", "first", "WaitEpoch", $"Wait for the upgrade epoch {upgradeEpoch}");
            Add("first", "first", "WaitReplicated", $"Wait until {string.Join(", ", firstHalf)} replicated the key material as {newVersion}");
            Add("first", "first", "Verify", "Verify replication on every node");
            Add("first", "first", "VerifyAgain", $"Verify again at least {verifyEpochs} epoch(s) later");
        }
        if (secondHalf.Count > 0)
        {
            Half("second", secondHalf, firstHalf.Concat(skipped).ToList());
            Add("second", "second", "WaitReplicated", $"Wait until {string.Join(", ", secondHalf)} replicated the key material as {newVersion}");
        }
        Add("final", "final", "Verify", $"Final verification: every node ready with one checksum, registered as {newVersion}");

        var id = PlanId(nodes, bundlePath, newVersion, bundleDigest);
        return new UpgradePlan
        {
            NewVersion = newVersion.ToString(), BundlePath = bundlePath, RuntimeId = runtimeId, UpgradeEpoch = upgradeEpoch,
            VerifyEpochs = verifyEpochs, FirstHalf = firstHalf, SecondHalf = secondHalf, Skipped = skipped, Steps = steps, PlanId = id,
        };
    }
}
