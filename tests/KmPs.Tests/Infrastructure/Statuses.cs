using KmPs.Simulator.Shapes;
using KmPs.Core.Status;

namespace KmPs.Tests.Infrastructure;

/// <summary>Ready-made node statuses for each schema generation.</summary>
public static class Statuses
{
    public const string VectorExtraInfo =
        "omlzaWduYXR1cmVYQG7nDuKTOUKAlJAfukdY6Xljox376lCLI0cIP0zPw2B8abJxa31j+NoQAWA0KZuHD41XPyICmjXDTpjDXukEEgVtaW5pdF9yZXNwb25zZaNoY2hlY2tzdW1YIEWZF5YaFQChstrZ9u1UdgyqZCagmNfghvyQna9WkmvyaWlzX3NlY3VyZfVvcG9saWN5X2NoZWNrc3VtWCCsrqRzYjx05t+KoCYz7wFSdKJ720g2LQBAsRKXmClMvw==";
    public const string VectorChecksum = "459917961a1500a1b2dad9f6ed54760caa6426a098d7e086fc909daf56926bf2";
    public const string VectorPolicyChecksum = "acaea473623c74e6df8aa02633ef015274a27bdb48362d0040b1129798294cbf";
    public const string TestnetKm = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";

    public static SimNodeStatus Ready(SchemaGeneration g, string seed = "node-0") => new()
    {
        Generation = g,
        NodeSeed = seed,
        KmStatus = KmStatusWords.Ready,
        ExtraInfoBase64 = VectorExtraInfo,
        RuntimeVersion = "0.3.3",
        ConsensusChecksumHex = VectorChecksum,
        PolicyChecksumHex = VectorPolicyChecksum,
        Policy = Policy(),
        Deployments = new[] { new SimDeployment { Version = "0.3.3", ValidFrom = 10 }, new SimDeployment { Version = "0.4.0", ValidFrom = 120 } },
    };

    public static readonly string OldEnclave = new string('a', 64) + new string('c', 64);
    public static readonly string NewEnclave = new string('b', 64) + new string('c', 64);

    /// <summary>Serial 1: the old enclave may replicate to the new one, which has its own entry.</summary>
    public static SimPolicy Policy(uint serial = 1, bool allowNew = true)
    {
        var p = new SimPolicy { Serial = serial, Enclaves = { new SimEnclavePolicy { Enclave = OldEnclave, MayReplicate = allowNew ? new() { NewEnclave } : new() } } };
        if (allowNew) p.Enclaves.Add(new SimEnclavePolicy { Enclave = NewEnclave });
        return p;
    }

    /// <summary>Registered before the enclave initialised: extra_info is CBOR null.</summary>
    public static SimNodeStatus Starting(SchemaGeneration g) => new()
    {
        Generation = g,
        KmStatus = KmStatusWords.Starting,
        ExtraInfoBase64 = null,
        RuntimeVersion = "0.4.0",
        ConsensusChecksumHex = VectorChecksum,
    };
}
