using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>Ready-made node statuses for each schema generation.</summary>
public static class Statuses
{
    public static SimNodeStatus Ready(SchemaGeneration g, string seed = "node-0") => new()
    {
        Generation = g,
        NodeSeed = seed,
        KmStatus = KmStatusWords.Ready,
        ExtraInfoBase64 = TestVectors.ExtraInfo,
        RuntimeVersion = "0.3.3",
        ConsensusChecksumHex = TestVectors.Checksum,
        PolicyChecksumHex = TestVectors.PolicyChecksum,
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
        ConsensusChecksumHex = TestVectors.Checksum,
    };
}
