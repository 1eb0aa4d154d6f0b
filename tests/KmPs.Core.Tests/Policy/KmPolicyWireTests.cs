using KmPs.Core.Control;
using KmPs.Core.Policy;
using KmPs.Core.Sgx;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using Org.BouncyCastle.Crypto.Digests;
using KmPs.Core;

namespace KmPs.Core.Tests.Policy;

/// <summary>
/// The key manager status query and answer as bytes on the wire: NamespaceQuery, and Status with
/// SignedPolicySGX in the 22.2.13 and 25.6 shapes, written out by hand in fxamacker's canonical order
/// (keys by encoded length, then bytewise), the way oasis-node encodes them.
/// </summary>
public class KmPolicyWireTests
{
    public const string Km = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public const string Client = "000000000000000000000000000000000000000000000000a6d1e3ebf60dff6c";

    private static string Rep(string b, int n) => string.Concat(Enumerable.Repeat(b, n));
    /// <summary>A 32-byte string: 0x58 0x20 then the bytes.</summary>
    private static string B32(string b) => "5820" + (b.Length == 2 ? Rep(b, 32) : b);

    /// <summary>EnclaveIdentity {mr_enclave, mr_signer}: "mr_signer" (9) sorts before "mr_enclave" (10).</summary>
    private static string Id(string e, string s) => "a2" + "696d725f7369676e6572" + B32(s) + "6a6d725f656e636c617665" + B32(e);

    public static readonly EnclaveIdentity Old = new(Rep("11", 32), Rep("aa", 32));
    public static readonly EnclaveIdentity New = new(Rep("22", 32), Rep("aa", 32));
    public static readonly EnclaveIdentity Query = new(Rep("33", 32), Rep("bb", 32));

    /// <summary>EnclavePolicySGX {may_query: {client: [query]}, may_replicate}.</summary>
    private static string Entry(string mayReplicate) =>
        "a2" + "696d61795f7175657279" + "a1" + B32(Client) + "81" + Id("33", "bb") + "6d6d61795f7265706c6963617465" + mayReplicate;

    private static readonly string Signatures =
        "6a7369676e617475726573" + "81" + "a2" + "697369676e6174757265" + "5840" + Rep("04", 64) + "6a7075626c69635f6b6579" + B32("03");

    /// <summary>SignedPolicySGX serial 1 (22.2.13 PolicySGX): old may replicate to new; new lists nobody (a nil slice: null).</summary>
    public static readonly string Signed22 =
        "a2" + "66706f6c696379" +
            "a3" + "626964" + B32(Km) + "6673657269616c" + "01" +
            "68656e636c61766573" + "a2" + Id("11", "aa") + Entry("81" + Id("22", "aa")) + Id("22", "aa") + Entry("f6") +
        Signatures;

    /// <summary>A 22.2.13 key manager Status {id, nodes, policy, checksum, is_secure, is_initialized}.</summary>
    public static readonly string Status22 =
        "a6" + "626964" + B32(Km) +
        "656e6f646573" + "82" + B32("01") + B32("02") +
        "66706f6c696379" + Signed22 +
        "68636865636b73756d" + B32("45") +
        "6969735f736563757265" + "f5" +
        "6e69735f696e697469616c697a6564" + "f5";

    /// <summary>Serial 1 without an entry for the new enclave (the policy not yet updated).</summary>
    private static readonly string SignedNotUpdated =
        "a2" + "66706f6c696379" +
            "a3" + "626964" + B32(Km) + "6673657269616c" + "01" + "68656e636c61766573" + "a1" + Id("11", "aa") + Entry("80") +
        Signatures;

    /// <summary>Serial 2 (23.0+ PolicySGX with max_ephemeral_secret_age 10 and master_secret_rotation_interval 30).</summary>
    private static readonly string SignedUpdated =
        "a2" + "66706f6c696379" +
            "a5" + "626964" + B32(Km) + "6673657269616c" + "02" +
            "68656e636c61766573" + "a2" + Id("11", "aa") + Entry("81" + Id("22", "aa")) + Id("22", "aa") + Entry("80") +
            "7818" + Convert.ToHexString("max_ephemeral_secret_age"u8).ToLowerInvariant() + "0a" +
            "781f" + Convert.ToHexString("master_secret_rotation_interval"u8).ToLowerInvariant() + "181e" +
        Signatures;

    /// <summary>A 25.6 Status: 23.0's generation, rotation_epoch and rsk, and next_policy.</summary>
    public static readonly string Status256 =
        "aa" + "626964" + B32(Km) +
        "6372736b" + B32("05") +
        "656e6f646573" + "81" + B32("01") +
        "66706f6c696379" + SignedNotUpdated +
        "68636865636b73756d" + B32("45") +
        "6969735f736563757265" + "f5" +
        "6a67656e65726174696f6e" + "01" +
        "6b6e6578745f706f6c696379" + SignedUpdated +
        "6e69735f696e697469616c697a6564" + "f5" +
        "6e726f746174696f6e5f65706f6368" + "1864";

    private static CborNode Decode(string hex) => CborCodec.Decode(Convert.FromHexString(hex));

    [Fact]
    public void The_query_is_a_namespace_query_with_height_zero()
    {
        // {"id": h'40…2d', "height": 0}: "id" sorts first (shorter key).
        Assert.Equal("a2" + "626964" + B32(Km) + "66686569676874" + "00",
            Convert.ToHexString(KeyManagerClient.NamespaceQuery(Convert.FromHexString(Km))).ToLowerInvariant());
        Assert.Equal("a2" + "626964" + B32(Km) + "66686569676874" + "1a00bc614e",
            Convert.ToHexString(KeyManagerClient.NamespaceQuery(Convert.FromHexString(Km), 12_345_678)).ToLowerInvariant());
        Assert.Throws<ArgumentException>(() => KeyManagerClient.NamespaceQuery(new byte[31]));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyManagerClient.NamespaceQuery(new byte[32], -1));
    }

    [Fact]
    public void The_hand_written_answers_are_canonical_cbor()
    {
        // Re-encoding gives the same bytes: the literals are in the order oasis-node sends.
        foreach (var hex in new[] { Status22, Status256 })
            Assert.Equal(hex, Convert.ToHexString(CborCodec.Encode(Decode(hex))).ToLowerInvariant());
    }

    [Fact]
    public void A_22_2_status_decodes_with_its_policy()
    {
        var s = KmPolicyStatus.FromCbor(Decode(Status22), epoch: 77, service: ControlMethods.KeyManager, source: "unix:/n/internal.sock");
        Assert.Equal(Km, s.RuntimeId);
        Assert.True(s.IsInitialized);
        Assert.True(s.IsSecure);
        Assert.Equal(Rep("45", 32), s.Checksum);
        Assert.Equal(new[] { Convert.ToBase64String(Convert.FromHexString(Rep("01", 32))), Convert.ToBase64String(Convert.FromHexString(Rep("02", 32))) }, s.Nodes);
        Assert.Equal(0ul, s.Generation);
        Assert.Null(s.Rsk);
        Assert.Null(s.NextPolicy);
        Assert.Null(s.NextPolicyEpoch);
        Assert.Equal(77ul, s.Epoch);

        var p = s.Policy!;
        Assert.Equal(1u, p.Serial);
        Assert.Equal(Km, p.RuntimeId);
        Assert.Equal(1, p.SignerCount);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(Rep("03", 32))), p.Signers[0]);
        Assert.Equal(new[] { Old, New }, p.Enclaves.Select(e => e.Enclave));
        Assert.Equal(new[] { New }, p.EntryFor(Old)!.MayReplicate);
        Assert.Empty(p.EntryFor(New)!.MayReplicate); // a nil slice (CBOR null) is an empty list
        Assert.Equal(new[] { Query }, p.EntryFor(Old)!.MayQuery[Client]);
        Assert.Null(p.EntryFor(Query));
        Assert.Equal(0ul, p.MaxEphemeralSecretAge);
    }

    [Fact]
    public void The_policy_checksum_is_sha3_256_of_the_signed_policy_bytes()
    {
        var raw = Convert.FromHexString(Signed22);
        var sha3 = new Sha3Digest(256);
        sha3.BlockUpdate(raw, 0, raw.Length);
        var sum = new byte[32];
        sha3.DoFinal(sum, 0);
        Assert.Equal(Hex.Encode(sum), KmPolicyStatus.FromCbor(Decode(Status22)).Policy!.Checksum);
        // The primitive itself (FIPS 202 "abc").
        var abc = new Sha3Digest(256);
        abc.BlockUpdate("abc"u8.ToArray(), 0, 3);
        abc.DoFinal(sum, 0);
        Assert.Equal("3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532", Hex.Encode(sum));
    }

    [Fact]
    public void A_25_6_status_carries_the_next_policy_for_the_next_epoch()
    {
        var s = KmPolicyStatus.FromCbor(Decode(Status256), epoch: 500, service: ControlMethods.KeyManagerSecrets);
        Assert.Equal(1ul, s.Generation);
        Assert.Equal(100ul, s.RotationEpoch);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(Rep("05", 32))), s.Rsk);
        Assert.Equal(1u, s.Policy!.Serial);
        Assert.Null(s.Policy.EntryFor(New));
        Assert.Equal(2u, s.NextPolicy!.Serial);
        Assert.Equal(10ul, s.NextPolicy.MaxEphemeralSecretAge);
        Assert.Equal(30ul, s.NextPolicy.MasterSecretRotationInterval);
        Assert.Equal(501ul, s.NextPolicyEpoch);
        Assert.Same(s.Policy, s.PolicyAt(500));
        Assert.Same(s.NextPolicy, s.PolicyAt(501));
        Assert.NotEqual(s.Policy.Checksum, s.NextPolicy.Checksum);
    }

    [Theory]
    [InlineData("a1" + "66706f6c696379" + "a1" + "68656e636c61766573" + "a1" + "6161" + "a0", "enclaves key: expected a map")]
    [InlineData("a1" + "66706f6c696379" + "a1" + "6673657269616c" + "1b0000000100000000", "does not fit in uint32")]
    [InlineData("a1" + "66706f6c696379" + "a1" + "626964" + "4101", "policy.policy.id: expected 32 bytes")]
    public void Malformed_policies_name_the_field(string signedPolicy, string expected)
    {
        var e = Assert.Throws<CborDecodeException>(() => KmPolicy.FromCbor(Decode(signedPolicy)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Malformed_answers_are_a_shape_error_naming_the_node()
    {
        var e = Assert.Throws<KmException>(() => new KmStatusAnswer(Convert.FromHexString("a1626964" + "4101"), ControlMethods.KeyManager, 1).Parse("unix:/n/internal.sock"));
        Assert.Equal(PolicyErrorIds.KeyManagerStatusShapeUnknown, e.ErrorId);
        Assert.Contains("unix:/n/internal.sock", e.Message);
    }

    [Fact]
    public void Raw_json_is_what_go_prints_for_the_status()
    {
        var json = CliJson.RenderKeyManagerStatus(Decode(Status22))!;
        Assert.Equal(Km, (string?)json["id"]);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(Rep("45", 32))), (string?)json["checksum"]);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(Rep("01", 32))), (string?)json["nodes"]![0]);
        var policy = json["policy"]!["policy"]!;
        Assert.Equal(Km, (string?)policy["id"]);
        Assert.Equal(1ul, (ulong)policy["serial"]!);
        // Map keys: an EnclaveIdentity prints as base64 of MRENCLAVE‖MRSIGNER (MarshalText); a Namespace as hex.
        var oldKey = Convert.ToBase64String(Convert.FromHexString(Old.MrEnclave + Old.MrSigner));
        var entry = policy["enclaves"]![oldKey]!;
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(New.MrEnclave + New.MrSigner)), (string?)entry["may_replicate"]![0]);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(Query.MrEnclave + Query.MrSigner)), (string?)entry["may_query"]![Client]![0]);
        Assert.Equal(Convert.ToBase64String(Convert.FromHexString(Rep("03", 32))), (string?)json["policy"]!["signatures"]![0]!["public_key"]);
    }
}
