using System.Text.Json.Serialization;
using KmPs.Core.Sgx;
using KmPs.Core.Wire;

namespace KmPs.Core.Status;

/// <summary>
/// A deployment's TEE constraints for SGX runtimes (go/common/node/sgx.go SGXConstraints, the same
/// from 22.2.13 to 25.x): version 0 is unversioned <c>{enclaves, allowed_quote_statuses}</c>; version 1
/// is <c>{v: 1, enclaves, policy: {ias, pcs}, max_attestation_age}</c>. Enclaves are the
/// <c>{mr_enclave, mr_signer}</c> identities a node of this version may attest as.
/// </summary>
public sealed class SgxConstraints
{
    public uint Version { get; init; }
    public IReadOnlyList<EnclaveIdentity> Enclaves { get; init; } = Array.Empty<EnclaveIdentity>();
    /// <summary>The quote policy (v1 <c>policy</c>), kept as CBOR; null when absent or in v0.</summary>
    public CborNode? Policy { get; init; }
    /// <summary>Maximum attestation age in blocks (v1; 0 when absent).</summary>
    public ulong MaxAttestationAge { get; init; }

    /// <summary>Decodes CBOR(SGXConstraints) as SGXConstraints.UnmarshalCBOR does (no <c>v</c>: version 0).</summary>
    /// <exception cref="CborDecodeException">Not a constraints map, or an unsupported version.</exception>
    public static SgxConstraints FromCbor(ReadOnlyMemory<byte> tee)
    {
        var m = CborCodec.Decode(tee).RequireMap("tee");
        var version = m["v"] is { } v ? v.UInt("tee.v") : 0;
        if (version > 1) throw new CborDecodeException($"tee: unsupported SGX constraints version {version}");
        var enclaves = m["enclaves"] is null or CborNull
            ? Array.Empty<EnclaveIdentity>()
            : m["enclaves"].Array("tee.enclaves").Select((e, i) => EnclaveIdentity.FromCbor(e, $"tee.enclaves[{i}]")).ToArray();
        return new SgxConstraints
        {
            Version = (uint)version,
            Enclaves = enclaves,
            Policy = version == 1 && m["policy"] is { IsNull: false } p ? p : null,
            MaxAttestationAge = version == 1 && m["max_attestation_age"] is { } age ? age.UInt("tee.max_attestation_age") : 0,
        };
    }

    public CborMap ToCbor()
    {
        var b = new CborMapBuilder();
        if (Version != 0) b.Add("v", CborNode.UInt(Version));
        if (Enclaves.Count > 0) b.Add("enclaves", new CborArray(Enclaves.Select(e => (CborNode)e.ToCbor()).ToArray()));
        if (Version != 0 && Policy is not null) b.Add("policy", Policy);
        if (Version != 0 && MaxAttestationAge != 0) b.Add("max_attestation_age", CborNode.UInt(MaxAttestationAge));
        return b.Build();
    }
}

/// <summary>One entry of a runtime's <c>deployments</c> (go/registry/api VersionInfo).</summary>
public sealed class RuntimeDeployment
{
    private SgxConstraints? _sgx;
    private string? _teeProblem;
    private bool _parsed;

    public OasisVersion Version { get; init; }
    /// <summary>The epoch from which this version is active: the upgrade epoch of a new version.</summary>
    public ulong ValidFrom { get; init; }
    /// <summary>CBOR(SGXConstraints) for SGX runtimes, as the registry holds it.</summary>
    public byte[]? Tee { get; init; }
    /// <summary>
    /// bundle_checksum (23.0+, optional), hex. From 25.0 it is the bundle's manifest hash
    /// (<see cref="RegistryRuntime.BundleChecksumIsManifestHash"/>); 23.0-24.x defined it only as
    /// "the SHA256 hash of the runtime bundle" and oasis-core set it nowhere.
    /// </summary>
    public string? BundleChecksum { get; init; }

    /// <summary>The TEE constraints decoded (null without a tee, or when it does not decode: see <see cref="TeeProblem"/>).</summary>
    [JsonIgnore]
    public SgxConstraints? Sgx { get { Parse(); return _sgx; } }

    /// <summary>Why the tee does not decode as SGX constraints, or null.</summary>
    [JsonIgnore]
    public string? TeeProblem { get { Parse(); return _teeProblem; } }

    /// <summary>The enclave identities this version may run as (empty without SGX constraints).</summary>
    [JsonIgnore]
    public IReadOnlyList<EnclaveIdentity> Enclaves => Sgx?.Enclaves ?? Array.Empty<EnclaveIdentity>();

    private void Parse()
    {
        if (_parsed) return;
        _parsed = true;
        if (Tee is null || Tee.Length == 0) return;
        try { _sgx = SgxConstraints.FromCbor(Tee); }
        catch (CborDecodeException e) { _teeProblem = e.Message; }
    }
}

/// <summary>The parts of registry.Runtime the upgrade needs: id, kind, TEE hardware and deployments.</summary>
public sealed class RegistryRuntime
{
    public const ulong KindCompute = 1, KindKeyManager = 2;
    /// <summary>node.TEEHardwareIntelSGX.</summary>
    public const ulong TeeHardwareIntelSgx = 1;

    public string Id { get; init; } = "";
    public ulong Kind { get; init; }
    /// <summary>tee_hardware: 0 none, 1 Intel SGX.</summary>
    public ulong TeeHardware { get; init; }
    public IReadOnlyList<RuntimeDeployment> Deployments { get; init; } = System.Array.Empty<RuntimeDeployment>();

    /// <summary>
    /// The software version of the node that answered (control status <c>software_version</c>), when
    /// the reader knows it: it says what a deployment's bundle_checksum is.
    /// </summary>
    public string? NodeSoftwareVersion { get; init; }

    /// <summary>A bundle_checksum here is the bundle's manifest hash: the node runs oasis-core 25.0 or later.</summary>
    [JsonIgnore]
    public bool BundleChecksumIsManifestHash =>
        NodeSoftwareVersion is { } v && OasisVersion.TryParse(v.Split('-', '+')[0], out var version) && version >= new OasisVersion(25, 0, 0);

    /// <summary>The active deployment at an epoch: the greatest valid_from not after it.</summary>
    public RuntimeDeployment? ActiveAt(ulong epoch) =>
        Deployments.Where(d => d.ValidFrom <= epoch).OrderBy(d => d.ValidFrom).LastOrDefault();

    public RuntimeDeployment? Find(OasisVersion version) => Deployments.FirstOrDefault(d => d.Version == version);

    /// <summary>The same runtime as read from a node running <paramref name="softwareVersion"/>.</summary>
    public RegistryRuntime WithNodeVersion(string? softwareVersion) => new()
    {
        Id = Id, Kind = Kind, TeeHardware = TeeHardware, Deployments = Deployments, NodeSoftwareVersion = softwareVersion,
    };

    public static RegistryRuntime FromCbor(CborNode node)
    {
        var m = node.RequireMap("runtime");
        return new RegistryRuntime
        {
            Id = Hex.Encode(m["id"].FixedBytes("runtime.id", 32)) ?? "",
            Kind = m["kind"].UInt("runtime.kind"),
            TeeHardware = m["tee_hardware"] is { } tee ? tee.UInt("runtime.tee_hardware") : 0,
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
