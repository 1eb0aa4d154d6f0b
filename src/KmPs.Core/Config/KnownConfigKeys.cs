using KmPs.Core.Status;
using YamlDotNet.RepresentationModel;

namespace KmPs.Core.Config;

/// <summary>A key that a 23.0+ oasis-node would refuse, where it is, and why.</summary>
public sealed record UnknownConfigKey(string Key, long Line, long Column, string Reason);

/// <summary>
/// An allow-list of 23.0+ config keys relevant to key manager nodes, so the simulator can be as
/// strict as oasis-node (yaml.v3 KnownFields: any unknown key is a startup error). Sources: oasis-core
/// go/config/config.go and the per-package config structs (common, runtime, keymanager, registration,
/// ias), 23.0 to 26.x. It is the union over those versions; with a node version, the few keys known to
/// come or go (from the spec's research notes) are checked against it. Sections that KM tooling never
/// edits (consensus, p2p, pprof, metrics, storage, sentry, and free-form maps such as log levels) are
/// accepted without looking inside, apart from the 22.2 names known to be gone.
/// </summary>
public static class KnownConfigKeys
{
    private static readonly Spec Root = Map(
        ("mode", Leaf),
        ("common", Map(
            ("data_dir", Leaf),
            ("internal_socket_path", Leaf.Since("24.0")),
            ("log", Map(("file", Leaf), ("format", Leaf), ("level", Leaf))),
            ("debug", Map(("allow_root", Leaf), ("rlimit", Leaf))))),
        ("genesis", Map(("file", Leaf))),
        ("consensus", Leaf.Without("tendermint", "22.2 name: consensus.tendermint.* became consensus.* in 23.0")),
        ("runtime", Map(
            ("paths", Leaf), ("provisioner", Leaf), ("sandbox_binary", Leaf), ("sgx_loader", Leaf),
            ("environment", Leaf), ("prune", Leaf), ("config", Leaf), ("sentry_addresses", Leaf), ("tx_pool", Leaf),
            ("pre_warm_epochs", Leaf), ("attest_interval", Leaf), ("load_balancer", Leaf), ("debug_mock_tee", Leaf),
            ("sgx", Leaf.Since("25.2")), ("runtimes", Leaf.Since("25.0")), ("registries", Leaf.Since("25.0")),
            ("repositories", Leaf.Since("25.0")), ("max_bundle_size", Leaf.Since("25.0")))),
        ("p2p", Leaf),
        ("ias", Map(("proxy_addresses", Leaf), ("debug_skip_verify", Leaf))),
        ("pprof", Leaf),
        ("metrics", Leaf),
        ("registration", Map(("entity", Leaf), ("entity_id", Leaf.Since("24.2")), ("rotate_certs", Leaf))),
        ("keymanager", Map(
            ("runtime_id", Leaf), ("private_peer_pub_keys", Leaf), ("churp", Leaf),
            ("may_generate", Leaf.Until("24.0")))),
        ("storage", Leaf),
        ("sentry", Leaf));

    /// <summary>What 22.2 keys became, to say so when one turns up in a 23.0+ config.</summary>
    private static readonly Dictionary<string, string> Renamed = new()
    {
        ["datadir"] = "22.2 name: use common.data_dir",
        ["log"] = "22.2 name: use common.log",
        ["worker"] = "22.2 name: worker.keymanager.* became keymanager.* (runtime.id became runtime_id), worker.registration.* became registration.*",
        ["runtime.mode"] = "22.2 name: use the top-level mode",
        ["runtime.sandbox"] = "22.2 name: use runtime.sandbox_binary",
        ["runtime.sgx"] = "22.2 name before 25.2: use runtime.sgx_loader",
        ["ias.proxy"] = "22.2 name: use ias.proxy_addresses",
    };

    /// <summary>Unknown keys of a 23.0+ config; with <paramref name="nodeVersion"/>, also keys that version lacks.</summary>
    public static IReadOnlyList<UnknownConfigKey> FindUnknown(YamlMappingNode root, OasisVersion? nodeVersion = null)
    {
        var found = new List<UnknownConfigKey>();
        Walk(root, Root, "", nodeVersion, found);
        return found;
    }

    private static void Walk(YamlMappingNode map, Spec spec, string prefix, OasisVersion? version, List<UnknownConfigKey> found)
    {
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "?";
            var dotted = prefix + key;
            void Report(string reason) => found.Add(new UnknownConfigKey(dotted, keyNode.Start.Line, keyNode.Start.Column, reason));

            if (spec.Children is null)
            {
                // Not looked into, apart from names known to be gone.
                if (spec.Gone.TryGetValue(key, out var gone)) Report(gone);
                continue;
            }
            if (!spec.Children.TryGetValue(key, out var child))
                Report(Renamed.GetValueOrDefault(dotted, "not a known setting"));
            else if (child.Mismatch(version) is { } reason)
                Report(Renamed.TryGetValue(dotted, out var hint) ? $"{reason} ({hint})" : reason);
            else if (value is YamlMappingNode inner)
                Walk(inner, child, dotted + ".", version, found);
        }
    }

    private static Spec Leaf => new(null, new Dictionary<string, string>(), null, null);

    private static Spec Map(params (string Key, Spec Spec)[] children) =>
        new(children.ToDictionary(c => c.Key, c => c.Spec), new Dictionary<string, string>(), null, null);

    /// <summary>
    /// One key: its known children (null: not looked into), children known to be gone, and the
    /// versions that know it (Since inclusive, Until exclusive).
    /// </summary>
    private sealed record Spec(Dictionary<string, Spec>? Children, Dictionary<string, string> Gone, OasisVersion? From, OasisVersion? To)
    {
        public Spec Since(string v) => this with { From = OasisVersion.Parse(v) };
        public Spec Until(string v) => this with { To = OasisVersion.Parse(v) };
        public Spec Without(string key, string reason) => this with { Gone = new Dictionary<string, string>(Gone) { [key] = reason } };

        public string? Mismatch(OasisVersion? v) =>
            v is null ? null
            : From is { } f && v < f ? $"known from oasis-core {f.Major}.{f.Minor} on; this node is {v}"
            : To is { } t && v >= t ? $"removed in oasis-core {t.Major}.{t.Minor}; this node is {v}"
            : null;
    }
}
