using System.Text.Json;

namespace KmPs.Core.Diagnosis;

/// <summary>A known key manager failure found in a node's log, with the fix in one sentence.</summary>
public sealed class UpgradeProblem
{
    public string Node { get; init; } = "";
    public string Problem { get; init; } = "";
    public string Fix { get; init; } = "";
    public int Count { get; init; }
    public string? FirstSeen { get; init; }
    public string? LastSeen { get; init; }
    public string Example { get; init; } = "";
    public string LogPath { get; init; } = "";
}

/// <summary>
/// Reads oasis-node JSON log lines and recognises the failures operators hit during key manager
/// upgrades (spec/oasis-operations.md Q5). Lines that are not JSON are read as plain text.
/// </summary>
public static class UpgradeProblemFinder
{
    private sealed record Rule(string Problem, string Fix, Func<string, string, bool> Match);

    private static readonly Rule[] Rules =
    {
        new("StateSealedOnOtherCpu",
            "The local state was sealed on another CPU and can never be read here: stop the node, wipe worker-local-storage.badger.db (Clear-KmLocalState) and restart it so it replicates from a ready peer.",
            (module, msg) => msg.Contains("check if the CPU had changed", StringComparison.OrdinalIgnoreCase)),
        new("EnclavePanicAfterUpgrade",
            "The new enclave cannot unseal the old state (the wipe was missed): stop the node, wipe worker-local-storage.badger.db (Clear-KmLocalState) and restart it so it replicates from nodes on the old version.",
            (module, msg) => msg.Contains("Enclave panicked", StringComparison.Ordinal)),
        new("TwoKeyManagerBundles",
            "The config lists more than one key manager ORC; a key manager node runs exactly one: keep only the new ORC in runtime.paths (Set-KmRuntimeBundle replaces it).",
            (module, msg) => msg.Contains("expected a single runtime version", StringComparison.Ordinal)
                             || msg.Contains("expected a single runtime component", StringComparison.Ordinal)
                             || msg.Contains("expected one runtime component", StringComparison.Ordinal)),
        new("VersionNotDeployed",
            "The registry refuses this runtime version: the ORC's version is not in the key manager runtime's deployments; use the ORC published for this network (Get-KmUpgradeEpoch lists the deployments).",
            (module, msg) => msg.Contains("node running unknown enclave version", StringComparison.Ordinal)),
        // The host's "failed to initialize enclave" (go/worker/keymanager secrets.go initEnclave; worker.go in
        // 22.2) with the enclave's replication refusal: the requester's RPC session rejects a source its policy
        // does not list (runtime/src/enclave_rpc/session.rs "mismatched enclave identity"), or the source's
        // enclave refuses the requester (keymanager/src/api/errors.rs NotAuthorized "client is not authorized").
        new("PolicyForbidsReplication",
            "The key manager policy does not let this node's enclave replicate from the running ones: the policy must have an entry for the new enclave and list it in the old enclave's may_replicate. Get-KmPolicy shows the policy; once the signers' update is in effect (25.6+: at the next epoch) the node replicates by itself. Until then keep the other nodes on the old version.",
            (module, msg) => msg.Contains("failed to initialize enclave", StringComparison.Ordinal)
                             && (msg.Contains("mismatched enclave identity", StringComparison.Ordinal) || msg.Contains("client is not authorized", StringComparison.Ordinal))),
        new("ForcedDeregister",
            "The node was restarted before a requested shutdown finished deregistering and will not register: run 'oasis-node control clear-deregister' and restart it.",
            (module, msg) => msg.Contains("registration disabled, dropping to direct shutdown", StringComparison.Ordinal)
                             || msg.Contains("forced deregister", StringComparison.OrdinalIgnoreCase)),
    };

    public static IReadOnlyList<UpgradeProblem> Scan(IEnumerable<string> lines, string node, string logPath)
    {
        var found = new Dictionary<string, (Rule Rule, int Count, string? First, string? Last, string Example)>();
        foreach (var line in lines)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var (module, msg, ts) = Parse(line);
            // StateSealedOnOtherCpu explains the panic that follows it; keep both findings but
            // report the cause first.
            foreach (var rule in Rules)
            {
                if (!rule.Match(module, msg)) continue;
                found[rule.Problem] = found.TryGetValue(rule.Problem, out var f)
                    ? (rule, f.Count + 1, f.First, ts ?? f.Last, f.Example)
                    : (rule, 1, ts, ts, line.Length > 400 ? line[..400] : line);
                break;
            }
        }
        if (found.ContainsKey("StateSealedOnOtherCpu")) found.Remove("EnclavePanicAfterUpgrade");
        return Rules.Where(r => found.ContainsKey(r.Problem)).Select(r =>
        {
            var f = found[r.Problem];
            return new UpgradeProblem
            {
                Node = node, Problem = r.Problem, Fix = r.Fix, Count = f.Count, FirstSeen = f.First, LastSeen = f.Last,
                Example = f.Example, LogPath = logPath,
            };
        }).ToList();
    }

    private static (string Module, string Msg, string? Ts) Parse(string line)
    {
        if (line.TrimStart().StartsWith('{'))
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                string Get(string k) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
                var msg = Get("msg");
                if (r.TryGetProperty("err", out var err) && err.ValueKind == JsonValueKind.String) msg += " " + err.GetString();
                return (Get("module"), msg, Get("ts") is { Length: > 0 } ts ? ts : null);
            }
            catch (JsonException) { }
        }
        return ("", line, null);
    }
}
