using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using KmPs.Core.Wire;

namespace KmPs.Core.Status;

/// <summary>
/// Renders a CBOR control status the way <c>oasis-node control status</c> prints it: Go's
/// encoding/json over the same structs, where MarshalText turns namespaces and hashes into hex,
/// public keys and byte slices into base64, peer ids into base58, enums into words and times into
/// RFC 3339 (spec: oasis-control-api.md §7). CBOR alone does not say which 32-byte string is a
/// namespace and which a key, so the field path decides.
/// </summary>
public static class CliJson
{
    private static readonly string[] KmWords = { "ready", "starting", "stopped", "disabled" };
    private static readonly string[] ConsensusWords = { "ready", "syncing" };
    private static readonly string[] CommitteeWords =
    {
        "ready", "waiting for consensus sync", "waiting for runtime registry descriptor",
        "waiting for available keymanager", "waiting for hosted runtime provision",
        "waiting for history reindex", "waiting for workers to initialize", "runtime suspended",
    };

    private const string ZeroTime = "0001-01-01T00:00:00Z";

    /// <param name="zone">
    /// The time zone times print in. The CLI decodes a unix time into Go's local time and prints it
    /// with that offset; it runs on the node's machine, as this does (remote nodes' commands run
    /// there too), so the default is this machine's zone.
    /// </param>
    public static JsonNode? Render(CborNode status, TimeZoneInfo? zone = null)
    {
        var generation = status is CborMap m ? StatusParser.DetectGeneration(m) : SchemaGeneration.V24;
        return new Renderer(generation, zone ?? TimeZoneInfo.Local).Value(status, new List<string>());
    }

    /// <summary>
    /// A consensus key manager status (KeyManager/GetStatus: secrets.Status) as Go's encoding/json prints
    /// it: id and policy ids hex (Namespace), checksum, nodes, rsk and signatures base64, enclave
    /// identities (also as map keys) base64 of MRENCLAVE‖MRSIGNER, may_query keys hex.
    /// </summary>
    public static JsonNode? RenderKeyManagerStatus(CborNode status) =>
        // Read as the 23.0 "global" object, whose id is the key manager's namespace.
        new Renderer(SchemaGeneration.V24, TimeZoneInfo.Utc).Value(status, new List<string> { "global" });

    /// <summary>Roles bitmask as the CLI prints it: comma-joined names in bit order.</summary>
    public static string RolesText(ulong mask, SchemaGeneration generation)
    {
        var names = generation == SchemaGeneration.V22_2
            ? new (ulong, string)[] { (1, "compute"), (4, "key-manager"), (8, "validator"), (16, "consensus-rpc"), (32, "storage-rpc") }
            : new (ulong, string)[] { (1, "compute"), (2, "observer"), (4, "key-manager"), (8, "validator"), (32, "storage-rpc") };
        var parts = names.Where(n => (mask & n.Item1) != 0).Select(n => n.Item2).ToList();
        var known = names.Aggregate(0UL, (acc, n) => acc | n.Item1);
        if ((mask & ~known) != 0) parts.Add($"unknown(0x{mask & ~known:x})");
        return string.Join(",", parts);
    }

    private sealed class Renderer(SchemaGeneration generation, TimeZoneInfo zone)
    {
        public JsonNode? Value(CborNode node, List<string> path)
        {
            var key = path.Count > 0 ? path[^1] : "";
            var parent = path.Count > 1 ? path[^2] : "";
            switch (node)
            {
                case CborNull or CborUndefined:
                    return IsTime(path) ? JsonValue.Create(ZeroTime) : null;
                case CborBool b: return JsonValue.Create(b.Value);
                case CborText t: return JsonValue.Create(t.Value);
                case CborFloat f: return JsonValue.Create(f.Value);
                case CborInteger i: return Integer(i, path);
                case CborBytes b: return JsonValue.Create(Bytes(b.Value, path));
                case CborArray a:
                {
                    var arr = new JsonArray();
                    path.Add(key + "[]");
                    foreach (var item in a.Items) arr.Add(Value(item, path));
                    path.RemoveAt(path.Count - 1);
                    return arr;
                }
                case CborMap m:
                    if (m.ContainsKey("mr_enclave") && m.ContainsKey("mr_signer") && m.Entries.Count == 2)
                        return JsonValue.Create(EnclaveIdentity(m));
                    if (m.ContainsKey("IP") && m.ContainsKey("Port"))
                        return JsonValue.Create(Address(m));
                    var obj = new JsonObject();
                    foreach (var e in m.Entries)
                    {
                        var name = KeyText(e.Key, key);
                        path.Add(name is null ? "{}" : (e.Key is CborText ? name : "{}"));
                        obj[name ?? "?"] = Value(e.Value, path);
                        path.RemoveAt(path.Count - 1);
                    }
                    return obj;
                default:
                    return JsonValue.Create(node.ToString());
            }
        }

        private JsonNode Integer(CborInteger i, List<string> path)
        {
            var key = path.Count > 0 ? path[^1] : "";
            var joined = string.Join(".", path);
            if (!i.IsNegative)
            {
                if (IsTime(path)) return JsonValue.Create(Rfc3339(i.Magnitude));
                if (key == "status")
                {
                    // keymanager.status (22.2, 24+), keymanager.worker.status (23.0),
                    // keymanager.secrets.worker.status (24+): key manager words.
                    if (joined is "keymanager.status" or "keymanager.worker.status" or "keymanager.secrets.worker.status")
                        return Word(KmWords, i.Magnitude);
                    if (joined == "consensus.status") return Word(ConsensusWords, i.Magnitude);
                    if (path.Count >= 2 && path[^2] == "committee") return Word(CommitteeWords, i.Magnitude);
                }
                if (key == "roles") return JsonValue.Create(RolesText(i.Magnitude, generation));
                return JsonValue.Create(i.Magnitude);
            }
            return i.Magnitude <= long.MaxValue ? JsonValue.Create(i.ToInt64()) : JsonValue.Create(-1.0 - i.Magnitude);
        }

        private static JsonNode Word(string[] words, ulong v) =>
            v < (ulong)words.Length ? JsonValue.Create(words[v]) : JsonValue.Create($"[unknown status: {v}]");

        private static bool IsTime(List<string> path)
        {
            var key = path.Count > 0 ? path[^1] : "";
            return key is "last_registration" or "last_attempt" or "latest_time";
        }

        /// <summary>Go's RFC3339Nano for whole seconds: "Z" for a zero offset, else "+hh:mm".</summary>
        private string Rfc3339(ulong unix)
        {
            var t = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(unix, 253402300799UL - 86400)), zone);
            var clock = t.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
            return t.Offset == TimeSpan.Zero ? clock + "Z" : clock + t.ToString("zzz", CultureInfo.InvariantCulture);
        }

        private string Bytes(byte[] b, List<string> path)
        {
            var key = path.Count > 0 ? path[^1] : "";
            var parent = path.Count > 1 ? path[^2] : "";
            if (IsNamespace(path) || IsHash(key)) return Hex.Encode(b)!;
            if (IsPeerId(path)) return Base58.Encode(b);
            return Convert.ToBase64String(b);
        }

        /// <summary>common.Namespace fields: runtime ids wherever they appear.</summary>
        private static bool IsNamespace(List<string> path)
        {
            var key = path.Count > 0 ? path[^1] : "";
            var parent = path.Count > 1 ? path[^2] : "";
            var grand = path.Count > 2 ? path[^3] : "";
            if (key is "runtime_id" or "key_manager" or "ns" or "client_runtimes[]") return true;
            // descriptor.runtimes[].id, registry runtime id, KM status id, policy id.
            if (key == "id" && (parent is "runtimes[]" or "global" or "policy" or "descriptor" && grand != "registration"))
                return true;
            if (key == "id" && parent == "status" && grand == "secrets") return true;
            return false;
        }

        // hash.Hash fields (hex); state_root is RuntimeGenesis's, in registry runtime descriptors.
        private static bool IsHash(string key) =>
            key is "latest_hash" or "genesis_hash" or "last_retained_hash" or "hash" or "state_root";

        private static bool IsPeerId(List<string> path)
        {
            var key = path.Count > 0 ? path[^1] : "";
            return key is "peers[]" or "private_peers[]" or "peer_id";
        }

        /// <summary>JSON object keys: Go prints TextMarshaler keys with their text form.</summary>
        private static string? KeyText(CborNode key, string mapName) => key switch
        {
            CborText t => t.Value,
            CborBytes b when mapName is "runtimes" or "faults" or "may_query" => Hex.Encode(b.Value),
            CborBytes b => Convert.ToBase64String(b.Value),
            CborInteger i => i.ToString(),
            CborMap m when m.ContainsKey("mr_enclave") => EnclaveIdentity(m),
            _ => CborCodec.Describe(key),
        };

        private static string EnclaveIdentity(CborMap m)
        {
            var e = m["mr_enclave"].Bytes("mr_enclave") ?? System.Array.Empty<byte>();
            var s = m["mr_signer"].Bytes("mr_signer") ?? System.Array.Empty<byte>();
            return Convert.ToBase64String(e.Concat(s).ToArray());
        }

        private static string Address(CborMap m)
        {
            var ipBytes = m["IP"].Bytes("IP") ?? System.Array.Empty<byte>();
            var port = m["Port"].Int("Port");
            var ip = ipBytes.Length is 4 or 16 ? new System.Net.IPAddress(ipBytes) : null;
            if (ip is not null && ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
            // Go's TCPAddr.String: JoinHostPort(ip[%zone], port), brackets only when the host has a colon.
            var zone = m.ContainsKey("Zone") && m["Zone"] is CborText z ? z.Value : "";
            var host = (ip?.ToString() ?? "") + (zone.Length > 0 ? "%" + zone : "");
            return host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";
        }
    }
}

/// <summary>
/// Bitcoin-alphabet base58, how libp2p prints peer ids. Hand-written: it is twenty lines and no
/// package on this feed provides it without pulling a crypto stack.
/// </summary>
public static class Base58
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    public static string Encode(byte[] data)
    {
        var zeros = data.TakeWhile(b => b == 0).Count();
        var value = new BigInteger(data, isUnsigned: true, isBigEndian: true);
        var chars = new List<char>();
        while (value > 0)
        {
            value = BigInteger.DivRem(value, 58, out var rem);
            chars.Add(Alphabet[(int)rem]);
        }
        chars.AddRange(Enumerable.Repeat('1', zeros));
        chars.Reverse();
        return new string(chars.ToArray());
    }
}
