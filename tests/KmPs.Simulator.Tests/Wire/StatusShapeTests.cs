using System.Text.Json.Nodes;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Wire;

/// <summary>The three key manager shapes, encoded as the simulator serves them, read back.</summary>
public class StatusShapeTests
{
    public static TheoryData<SchemaGeneration> Generations => new() { SchemaGeneration.V22_2, SchemaGeneration.V23_0, SchemaGeneration.V24 };

    [Theory]
    [MemberData(nameof(Generations))]
    public void Ready_node_is_normalised(SchemaGeneration g)
    {
        var s = StatusParser.Parse(StatusShapes.Encode(Statuses.Ready(g)), "unix:/x");
        Assert.Equal(g, s.SchemaGeneration);
        Assert.Equal(KmStatusWords.Ready, s.Status);
        Assert.True(s.IsReady);
        Assert.Equal(TestOrcs.TestnetKm, s.RuntimeId);
        Assert.Equal(TestVectors.Checksum, s.Checksum);
        Assert.Equal(TestVectors.PolicyChecksum, s.PolicyChecksum);
        Assert.True(s.IsSecure);
        Assert.Equal(new OasisVersion(0, 3, 3), s.RegisteredVersion);
        Assert.Equal(new OasisVersion(0, 3, 3), s.ActiveVersion);
        // 22.2's worker tells no active_version: the registered one stands in, and says so.
        Assert.Equal(g != SchemaGeneration.V22_2, s.ActiveVersionReported);
        Assert.Equal(100UL, s.Epoch);
        Assert.Equal(12_345L, s.Height);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), s.LastRegistration);
        Assert.Equal(102UL, s.RegistrationExpiration);
        Assert.Equal("key-manager", s.Roles);
        Assert.Single(s.ClientRuntimes);
        if (g == SchemaGeneration.V22_2)
        {
            Assert.Null(s.ConsensusChecksum);
            Assert.False(s.MayGenerate);
            Assert.Null(s.Mode);
            Assert.Null(s.LastAttemptSuccessful);
        }
        else
        {
            Assert.Equal(TestVectors.Checksum, s.ConsensusChecksum);
            Assert.True(s.ConsensusInitialized);
            Assert.Equal(2, s.ConsensusNodeCount);
            Assert.True(s.LastAttemptSuccessful);
        }
        if (g == SchemaGeneration.V24)
        {
            Assert.Equal("keymanager", s.Mode);
            Assert.Null(s.MayGenerate); // removed in 24.0
            Assert.Equal(KmStatusWords.Ready, s.WorkerStatus);
        }
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public void Starting_node_has_null_extra_info_and_no_checksum(SchemaGeneration g)
    {
        var s = StatusParser.Parse(StatusShapes.Encode(Statuses.Starting(g)));
        Assert.Equal(KmStatusWords.Starting, s.Status);
        Assert.False(s.IsReady);
        Assert.Null(s.InitResponse);
        Assert.Null(s.Checksum);
        Assert.Null(s.InitResponseError);
        Assert.Equal(new OasisVersion(0, 4, 0), s.RegisteredVersion);
    }

    [Theory]
    [MemberData(nameof(Generations))]
    public void Node_without_keymanager_worker_is_absent_and_generation_still_detected(SchemaGeneration g)
    {
        var st = Statuses.Ready(g);
        st.KmStatus = null;
        var s = StatusParser.Parse(StatusShapes.Encode(st));
        Assert.Equal(KmStatusWords.Absent, s.Status);
        Assert.Equal(g, s.SchemaGeneration);
    }

    [Fact]
    public void Unregistered_node_has_no_descriptor_and_null_last_registration()
    {
        var st = Statuses.Starting(SchemaGeneration.V23_0);
        st.Registered = false;
        st.LastAttemptSuccessful = false;
        st.LastAttemptError = "registration: node running unknown enclave version";
        var s = StatusParser.Parse(StatusShapes.Encode(st));
        Assert.Null(s.LastRegistration);
        Assert.Null(s.RegisteredVersion);
        Assert.False(s.LastAttemptSuccessful);
        Assert.Equal("registration: node running unknown enclave version", s.LastAttemptError);
    }

    [Fact]
    public void Several_registered_versions_pick_the_active_one()
    {
        var st = Statuses.Ready(SchemaGeneration.V24);
        st.RegisteredVersions = new[] { "0.3.3", "0.4.0" };
        st.RuntimeVersion = "0.4.0";
        var s = StatusParser.Parse(StatusShapes.Encode(st));
        Assert.Equal(new OasisVersion(0, 4, 0), s.RegisteredVersion);
        Assert.Equal(TestVectors.Checksum, s.Checksum);
    }

    [Fact]
    public void Undecodable_extra_info_is_reported_not_thrown()
    {
        var st = Statuses.Ready(SchemaGeneration.V22_2);
        st.ExtraInfoBase64 = Convert.ToBase64String(new byte[] { 0x9f, 0x01, 0xff });
        var s = StatusParser.Parse(StatusShapes.Encode(st));
        Assert.Null(s.Checksum);
        Assert.Contains("indefinite", s.InitResponseError);
    }

    [Fact]
    public void Unknown_fields_are_ignored()
    {
        var map = StatusShapes.Build(Statuses.Ready(SchemaGeneration.V24));
        var extended = new CborMap(map.Entries.Append(new(CborNode.Text("indexer_v99"), CborNode.UInt(7))).ToArray());
        Assert.Equal(KmStatusWords.Ready, StatusParser.Parse(extended).Status);
    }

    [Fact]
    public void Wrong_type_names_the_field()
    {
        var map = StatusShapes.Build(Statuses.Ready(SchemaGeneration.V22_2));
        var km = (CborMap)map["keymanager"]!;
        var badKm = new CborMap(km.Entries.Select(e => ((CborText)e.Key).Value == "status"
            ? new KeyValuePair<CborNode, CborNode>(e.Key, CborNode.Text("ready")) : e).ToArray());
        var bad = new CborMap(map.Entries.Select(e => ((CborText)e.Key).Value == "keymanager"
            ? new KeyValuePair<CborNode, CborNode>(e.Key, badKm) : e).ToArray());
        var ex = Assert.Throws<CborDecodeException>(() => StatusParser.Parse(bad));
        Assert.Contains("keymanager.status", ex.Message);
    }
}

/// <summary>-Raw: the JSON the oasis-node CLI prints for the same status.</summary>
public class CliJsonTests
{
    private static JsonObject Render(SimNodeStatus s) => (JsonObject)CliJson.Render(StatusShapes.Build(s), TimeZoneInfo.Utc)!;

    [Fact]
    public void Times_print_in_the_zone_of_the_machine_that_renders_them_like_go_local_time()
    {
        var plus2 = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");
        var j = (JsonObject)CliJson.Render(StatusShapes.Build(Statuses.Ready(SchemaGeneration.V24)), plus2)!;
        Assert.Equal("2023-11-15T00:13:20+02:00", (string?)j["registration"]!["last_registration"]);
        var minus = TimeZoneInfo.CreateCustomTimeZone("test-5:30", TimeSpan.FromMinutes(-330), "t", "t");
        j = (JsonObject)CliJson.Render(StatusShapes.Build(Statuses.Ready(SchemaGeneration.V24)), minus)!;
        Assert.Equal("2023-11-14T16:43:20-05:30", (string?)j["registration"]!["last_registration"]);
    }

    [Fact]
    public void V22_2_matches_the_operator_guide_shape()
    {
        var j = Render(Statuses.Ready(SchemaGeneration.V22_2));
        var km = j["keymanager"]!;
        Assert.Equal("ready", (string?)km["status"]);
        Assert.False((bool)km["may_generate"]!);
        Assert.Equal(TestOrcs.TestnetKm, (string?)km["runtime_id"]);
        Assert.Equal("000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c", (string?)km["client_runtimes"]![0]);
        Assert.StartsWith("12D3KooW", (string?)km["access_list"]![0]!["peers"]![0]);
        Assert.Equal(TestOrcs.TestnetKm, (string?)km["access_list"]![0]!["runtime_id"]);

        var rt = j["registration"]!["descriptor"]!["runtimes"]![0]!;
        Assert.Equal(TestOrcs.TestnetKm, (string?)rt["id"]);
        Assert.Equal(TestVectors.ExtraInfo, (string?)rt["extra_info"]);
        Assert.Equal(3UL, (ulong)rt["version"]!["minor"]!);
        Assert.Null(rt["version"]!["major"]);
        Assert.Equal(1UL, (ulong)rt["capabilities"]!["tee"]!["hardware"]!);
        Assert.Equal("key-manager", (string?)j["registration"]!["descriptor"]!["roles"]);
        Assert.Equal("2023-11-14T22:13:20Z", (string?)j["registration"]!["last_registration"]);
        // Node keys are base64, the identity tls is a list in 22.2.
        Assert.Equal(44, ((string?)j["registration"]!["descriptor"]!["id"])!.Length);
        Assert.IsType<JsonArray>(j["identity"]!["tls"]);
        Assert.Equal("ready", (string?)j["consensus"]!["status"]);
        Assert.Equal(64, ((string?)j["consensus"]!["latest_hash"])!.Length);
        Assert.Equal("127.0.0.1:9200", (string?)j["registration"]!["descriptor"]!["p2p"]!["addresses"]![0]);
        // runtimes map keyed by hex namespace
        Assert.NotNull(j["runtimes"]![TestOrcs.TestnetKm]);
        Assert.Null(j["runtimes"]![TestOrcs.TestnetKm]!["descriptor"]);
    }

    [Fact]
    public void V23_0_uses_global_and_worker()
    {
        var j = Render(Statuses.Ready(SchemaGeneration.V23_0));
        Assert.Equal("ready", (string?)j["keymanager"]!["worker"]!["status"]);
        Assert.Equal(TestOrcs.TestnetKm, (string?)j["keymanager"]!["global"]!["id"]);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(TestVectors.Checksum)), (string?)j["keymanager"]!["global"]!["checksum"]);
        Assert.Equal(TestOrcs.TestnetKm, (string?)j["keymanager"]!["global"]!["policy"]!["policy"]!["id"]);
        // Enclave identities as object keys: base64 of mr_enclave || mr_signer (64 bytes).
        var enclaves = (JsonObject)j["keymanager"]!["global"]!["policy"]!["policy"]!["enclaves"]!;
        var first = enclaves.First();
        Assert.Equal(64, Convert.FromBase64String(first.Key).Length);
        Assert.Equal(64, Convert.FromBase64String((string)first.Value!["may_replicate"]![0]!).Length);
        Assert.IsAssignableFrom<JsonValue>(j["identity"]!["tls"]);
        Assert.True((bool)j["registration"]!["last_attempt_successful"]!);
        Assert.StartsWith("12D3KooW", (string?)j["p2p"]!["peer_id"]);
    }

    [Fact]
    public void V24_uses_secrets_and_mode()
    {
        var j = Render(Statuses.Ready(SchemaGeneration.V24));
        Assert.Equal("keymanager", (string?)j["mode"]);
        Assert.Equal("ready", (string?)j["keymanager"]!["status"]);
        Assert.Equal("ready", (string?)j["keymanager"]!["secrets"]!["worker"]!["status"]);
        Assert.Equal(TestOrcs.TestnetKm, (string?)j["keymanager"]!["secrets"]!["status"]!["id"]);
        Assert.Equal("2023-11-14T22:13:20Z", (string?)j["keymanager"]!["secrets"]!["worker"]!["last_registration"]);
        Assert.NotNull(j["keymanager"]!["churp"]);
    }

    [Fact]
    public void Zero_times_print_as_go_zero_time_and_null_extra_info_as_null()
    {
        var s = Statuses.Starting(SchemaGeneration.V24);
        s.Registered = false;
        var j = Render(s);
        Assert.Equal("0001-01-01T00:00:00Z", (string?)j["registration"]!["last_registration"]);
        Assert.Equal("0001-01-01T00:00:00Z", (string?)j["keymanager"]!["secrets"]!["worker"]!["last_registration"]);
        Assert.Equal("starting", (string?)j["keymanager"]!["status"]);

        var pre = Render(Statuses.Starting(SchemaGeneration.V22_2));
        var rt = (JsonObject)pre["registration"]!["descriptor"]!["runtimes"]![0]!;
        Assert.True(rt.ContainsKey("extra_info"));
        Assert.Null(rt["extra_info"]);
    }
}
