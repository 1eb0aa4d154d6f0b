using KmPs.Wire;

namespace KmPs.Status;

/// <summary>One entry of a runtime's <c>deployments</c> (registry VersionInfo).</summary>
public sealed class RuntimeDeployment
{
    public OasisVersion Version { get; init; }
    /// <summary>The epoch from which this version is active: the upgrade epoch of a new version.</summary>
    public ulong ValidFrom { get; init; }
    /// <summary>CBOR(SGXConstraints) for SGX runtimes, kept raw.</summary>
    public byte[]? Tee { get; init; }
    public string? BundleChecksum { get; init; }
}

/// <summary>The parts of registry.Runtime the upgrade needs: id, kind and deployments.</summary>
public sealed class RegistryRuntime
{
    public const ulong KindCompute = 1, KindKeyManager = 2;

    public string Id { get; init; } = "";
    public ulong Kind { get; init; }
    public IReadOnlyList<RuntimeDeployment> Deployments { get; init; } = System.Array.Empty<RuntimeDeployment>();

    /// <summary>The active deployment at an epoch: the greatest valid_from not after it.</summary>
    public RuntimeDeployment? ActiveAt(ulong epoch) =>
        Deployments.Where(d => d.ValidFrom <= epoch).OrderBy(d => d.ValidFrom).LastOrDefault();

    public RuntimeDeployment? Find(OasisVersion version) => Deployments.FirstOrDefault(d => d.Version == version);

    public static RegistryRuntime FromCbor(CborNode node)
    {
        var m = node.RequireMap("runtime");
        return new RegistryRuntime
        {
            Id = Hex.Encode(m["id"].FixedBytes("runtime.id", 32)) ?? "",
            Kind = m["kind"].UInt("runtime.kind"),
            Deployments = m["deployments"].Array("runtime.deployments")
                .Select((d, i) => d.RequireMap($"runtime.deployments[{i}]"))
                .Select((d, i) => new RuntimeDeployment
                {
                    Version = OasisVersion.FromCbor(d["version"], $"deployments[{i}].version"),
                    ValidFrom = d["valid_from"].UInt($"deployments[{i}].valid_from"),
                    Tee = d["tee"].Bytes($"deployments[{i}].tee"),
                    BundleChecksum = Hex.Encode(d["bundle_checksum"].Bytes($"deployments[{i}].bundle_checksum")),
                })
                .ToArray(),
        };
    }
}
