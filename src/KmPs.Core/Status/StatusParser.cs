using KmPs.Core.Wire;

namespace KmPs.Core.Status;

/// <summary>
/// Reads a GetStatus response (CBOR control.Status) into <see cref="KmStatus"/>, detecting which of
/// the three key manager shapes the node speaks.
/// </summary>
public static class StatusParser
{
    public static KmStatus Parse(byte[] cbor, string socket = "") => Parse(CborCodec.Decode(cbor), socket);

    public static KmStatus Parse(CborNode node, string socket = "")
    {
        var root = node.RequireMap("status");
        var generation = DetectGeneration(root);
        var consensus = root["consensus"].Map("consensus");
        var registration = root["registration"].Map("registration");
        var descriptor = registration?["descriptor"].Map("registration.descriptor");
        var km = root["keymanager"].Map("keymanager");

        string status = KmStatusWords.Absent;
        string? workerStatus = null, runtimeId = null, consensusChecksum = null;
        OasisVersion? activeVersion = null;
        bool? mayGenerate = null, consensusInitialized = null;
        int? consensusNodes = null;
        var clients = System.Array.Empty<string>();

        if (km is not null)
        {
            switch (generation)
            {
                case SchemaGeneration.V22_2:
                    status = Word(km["status"], "keymanager.status");
                    workerStatus = status;
                    runtimeId = Hex.Encode(km["runtime_id"].FixedBytes("keymanager.runtime_id", 32));
                    mayGenerate = km["may_generate"].Bool("keymanager.may_generate");
                    clients = Namespaces(km["client_runtimes"], "keymanager.client_runtimes");
                    break;
                case SchemaGeneration.V23_0:
                {
                    var worker = km["worker"].RequireMap("keymanager.worker");
                    status = Word(worker["status"], "keymanager.worker.status");
                    workerStatus = status;
                    runtimeId = Hex.Encode(worker["runtime_id"].FixedBytes("keymanager.worker.runtime_id", 32));
                    activeVersion = OptionalVersion(worker["active_version"], "keymanager.worker.active_version");
                    mayGenerate = worker["may_generate"].Bool("keymanager.worker.may_generate");
                    clients = Namespaces(worker["client_runtimes"], "keymanager.worker.client_runtimes");
                    ReadGlobal(km["global"].Map("keymanager.global"), "keymanager.global",
                        ref consensusChecksum, ref consensusInitialized, ref consensusNodes);
                    break;
                }
                default:
                {
                    status = Word(km["status"], "keymanager.status");
                    runtimeId = Hex.Encode(km["runtime_id"].FixedBytes("keymanager.runtime_id", 32));
                    activeVersion = OptionalVersion(km["active_version"], "keymanager.active_version");
                    clients = Namespaces(km["client_runtimes"], "keymanager.client_runtimes");
                    var secrets = km["secrets"].Map("keymanager.secrets");
                    if (secrets is not null)
                    {
                        var worker = secrets["worker"].Map("keymanager.secrets.worker");
                        if (worker is not null) workerStatus = Word(worker["status"], "keymanager.secrets.worker.status");
                        ReadGlobal(secrets["status"].Map("keymanager.secrets.status"), "keymanager.secrets.status",
                            ref consensusChecksum, ref consensusInitialized, ref consensusNodes);
                    }
                    break;
                }
            }
        }

        // The registered KM runtime entry. A descriptor may list the same id more than once with
        // different versions; prefer the active version, then the last entry that carries extra_info.
        OasisVersion? registeredVersion = null;
        KmInitResponse? init = null;
        string? initError = null;
        if (descriptor is not null && runtimeId is not null)
        {
            var entries = descriptor["runtimes"].Array("registration.descriptor.runtimes")
                .Select((r, i) => r.RequireMap($"registration.descriptor.runtimes[{i}]"))
                .Where(r => Hex.Encode(r["id"].Bytes("runtimes.id")) == runtimeId)
                .ToList();
            var chosen = entries.FirstOrDefault(r => activeVersion is not null && OasisVersion.FromCbor(r["version"]) == activeVersion)
                         ?? entries.LastOrDefault(r => r["extra_info"].Bytes("extra_info") is { Length: > 0 })
                         ?? entries.LastOrDefault();
            if (chosen is not null)
            {
                registeredVersion = OasisVersion.FromCbor(chosen["version"], "runtimes.version");
                var extra = chosen["extra_info"].Bytes("runtimes.extra_info");
                if (extra is { Length: > 0 })
                {
                    try { init = KmInitResponse.FromExtraInfo(extra); }
                    catch (CborDecodeException e) { initError = e.Message; }
                }
            }
        }

        return new KmStatus
        {
            Socket = socket,
            Name = socket,
            SoftwareVersion = root["software_version"].Text("software_version"),
            SchemaGeneration = generation,
            Mode = root["mode"].Text("mode"),
            Status = status,
            WorkerStatus = workerStatus,
            RuntimeId = runtimeId,
            ActiveVersion = activeVersion ?? registeredVersion,
            ActiveVersionReported = activeVersion is not null,
            RegisteredVersion = registeredVersion,
            MayGenerate = mayGenerate,
            ClientRuntimes = clients,
            InitResponse = init,
            InitResponseError = initError,
            ConsensusChecksum = consensusChecksum,
            ConsensusInitialized = consensusInitialized,
            ConsensusNodeCount = consensusNodes,
            Epoch = consensus?["latest_epoch"].UInt("consensus.latest_epoch") ?? 0,
            Height = consensus?["latest_height"].Int("consensus.latest_height") ?? 0,
            LastRegistration = registration?["last_registration"].Time("registration.last_registration"),
            RegistrationExpiration = descriptor is null ? null : descriptor["expiration"].UInt("registration.descriptor.expiration"),
            NodeId = descriptor is null ? null : B64(descriptor["id"].Bytes("registration.descriptor.id")),
            // identity.node is in every generation (spec §3 IdentityStatus), registered or not.
            IdentityNode = root["identity"].Map("identity") is { } identity ? B64(identity["node"].Bytes("identity.node")) : null,
            // consensus.status: 0 ready, 1 syncing (spec §5, every version).
            ConsensusSynced = consensus?.ContainsKey("status") == true ? consensus["status"].UInt("consensus.status") == 0 : null,
            Roles = descriptor is null ? null : CliJson.RolesText(descriptor["roles"].UInt("registration.descriptor.roles"), generation),
            LastAttemptSuccessful = registration?.ContainsKey("last_attempt_successful") == true
                ? registration["last_attempt_successful"].Bool("registration.last_attempt_successful") : null,
            LastAttemptError = registration?["last_attempt_error_message"].Text("registration.last_attempt_error_message"),
        };
    }

    /// <summary>
    /// 24.0+ added top-level <c>mode</c> and the <c>secrets</c> object; 23.0 nests the KM status
    /// in <c>global</c>/<c>worker</c> and made identity.tls a single key; 22.2 is what is left.
    /// </summary>
    public static SchemaGeneration DetectGeneration(CborMap root)
    {
        var km = root["keymanager"] as CborMap;
        if (root.ContainsKey("mode") || km?.ContainsKey("secrets") == true || km?.ContainsKey("churp") == true)
            return SchemaGeneration.V24;
        if (km?.ContainsKey("worker") == true || km?.ContainsKey("global") == true)
            return SchemaGeneration.V23_0;
        if (km is null)
        {
            // No KM object: tell 22.2 from 23.0 by the identity and registration shapes.
            var identity = root["identity"] as CborMap;
            if (identity?["tls"] is CborBytes || root.ContainsKey("light_client") || root.ContainsKey("p2p")
                || (root["registration"] as CborMap)?.ContainsKey("last_attempt_successful") == true)
                return SchemaGeneration.V23_0;
        }
        return SchemaGeneration.V22_2;
    }

    private static void ReadGlobal(CborMap? global, string field, ref string? checksum, ref bool? initialized, ref int? nodes)
    {
        if (global is null) return;
        checksum = Hex.Encode(global["checksum"].Bytes(field + ".checksum"));
        initialized = global["is_initialized"].Bool(field + ".is_initialized");
        nodes = global["nodes"].Array(field + ".nodes").Count;
    }

    private static string Word(CborNode? node, string field) => KmStatusWords.FromWire(node.UInt(field));

    private static OasisVersion? OptionalVersion(CborNode? node, string field) =>
        node is null || node.IsNull ? null : OasisVersion.FromCbor(node, field);

    private static string[] Namespaces(CborNode? node, string field) =>
        node.Array(field).Select((n, i) => Hex.Encode(n.FixedBytes($"{field}[{i}]", 32))!).ToArray();

    private static string? B64(byte[]? b) => b is null ? null : Convert.ToBase64String(b);
}
