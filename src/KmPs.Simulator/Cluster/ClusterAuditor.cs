using KmPs.Core.Bundles;
using KmPs.Core.Sgx;
using KmPs.Simulator.Node;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Simulator.Cluster;

public sealed class AuditedNode
{
    public string Name { get; init; } = "";
    public bool HasState { get; init; }
    /// <summary>The node's current enclave (from its config's bundle) unseals its state to the cluster's secret.</summary>
    public bool HoldsKeyMaterial { get; init; }
    /// <summary>State folders (live or backups) on this node that some known enclave on this CPU could unseal.</summary>
    public List<string> RecoverableCopies { get; init; } = new();
    public string? Note { get; init; }
}

public sealed class AuditReport
{
    public string? ExpectedChecksum { get; init; }
    public List<AuditedNode> Nodes { get; init; } = new();
    public int Holders => Nodes.Count(n => n.HoldsKeyMaterial);
    public int RecoverableCopies => Nodes.Sum(n => n.RecoverableCopies.Count);
    /// <summary>The key material is not lost: some node holds it or could get it back from a backup.</summary>
    public bool KeyMaterialExists => Holders > 0 || RecoverableCopies > 0;
    public override string ToString() =>
        $"holders {Holders}/{Nodes.Count}, recoverable copies {RecoverableCopies}, key material {(KeyMaterialExists ? "exists" : "LOST")}";
}

/// <summary>
/// An independent check from the files alone (no process, no control API): which nodes hold key
/// material their current enclave can unseal, and whether the key material still exists anywhere.
/// </summary>
public static class ClusterAuditor
{
    public static AuditReport Audit(string root)
    {
        var layout = new ClusterLayout(root);
        var spec = ClusterSpec.Load(layout);
        var expected = new Chain(layout).KeyManagerStatus()?.Checksum;
        var enclaves = Directory.Exists(layout.BundlesDir)
            ? Directory.EnumerateFiles(layout.BundlesDir, "*.orc").Select(TryEnclave).Where(e => e is not null).Select(e => e!).Distinct().ToList()
            : new List<EnclaveIdentity>();
        var report = new AuditReport { ExpectedChecksum = expected };
        foreach (var node in spec.Nodes)
        {
            var cpu = File.Exists(layout.CpuFile(node.Name)) ? File.ReadAllBytes(layout.CpuFile(node.Name)) : Array.Empty<byte>();
            EnclaveIdentity? current = null;
            string? note = null;
            try { current = NodeSetup.Load(layout.ConfigFile(node.Name), node.Generation ?? spec.Generation).Identity; }
            catch (Exception e) when (e is NodeStartupException or KmException) { note = "config does not start: " + e.Message; }
            var runtimeDir = Path.Combine(layout.DataDir(node.Name), "runtimes", spec.KmRuntimeId);
            var live = layout.LocalStorageDir(node.Name, spec.KmRuntimeId);
            bool Unseals(string dir, EnclaveIdentity enclave) =>
                Sealing.TryUnseal(dir, enclave, cpu, out var secret) == Sealing.UnsealResult.Ok
                && expected is not null && Hex.Encode(Sealing.Checksum(secret)) == expected;
            var copies = Directory.Exists(runtimeDir)
                ? Directory.EnumerateDirectories(runtimeDir).Where(Sealing.HasState)
                    .Where(d => enclaves.Any(e => Unseals(d, e))).Select(Path.GetFileName).Select(n => n!).ToList()
                : new List<string>();
            report.Nodes.Add(new AuditedNode
            {
                Name = node.Name,
                HasState = Sealing.HasState(live),
                HoldsKeyMaterial = current is not null && Unseals(live, current),
                RecoverableCopies = copies,
                Note = note,
            });
        }
        return report;
    }

    /// <summary>The enclave identity of a bundle (its real MRENCLAVE and MRSIGNER), null for one that does not open.</summary>
    private static EnclaveIdentity? TryEnclave(string orc)
    {
        try { return OrcBundle.Open(orc).EnclaveIdentity; }
        catch (KmException) { return null; }
    }
}
