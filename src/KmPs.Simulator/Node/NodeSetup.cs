using KmPs.Bundles;
using KmPs.Config;
using KmPs.Policy;
using KmPs.Sgx;
using KmPs.Status;

namespace KmPs.Simulator.Node;

/// <summary>What a node takes from its config file and ORC bundle.</summary>
public sealed record NodeSetup(string DataDir, string KmRuntimeId, string BundlePath, OasisVersion Version, string Enclave, string LogFile)
{
    /// <summary>Where the control API listens: &lt;data dir&gt;/internal.sock unless the config moves it (oasis-node InternalSocketPath()).</summary>
    public string Socket { get; init; } = Path.Combine(DataDir, "internal.sock");

    /// <summary>
    /// The enclave's identity as its attestation proves it and the key manager policy names it: the
    /// bundle's, through <see cref="BundleEnclave"/> (the one place bundles' identities come from).
    /// </summary>
    public EnclaveIdentity Identity { get; init; } = new(new byte[32], new byte[32]);

    /// <summary>
    /// Reads the node's config and bundle the way oasis-node does at startup, failing the same ways:
    /// unknown keys in a 23.0+ config, not a key manager, two KM bundles ("expected a single runtime
    /// version"), a bundle that does not validate (digest mismatch, ...).
    /// </summary>
    public static NodeSetup Load(string configPath, SchemaGeneration generation)
    {
        var config = NodeConfig.Load(configPath);
        if (generation >= SchemaGeneration.V23_0)
        {
            var unknown = config.FindUnknownKeys();
            if (unknown.Count > 0)
                throw new NodeStartupException($"config: unknown configuration key '{unknown[0].Key}' (line {unknown[0].Line})");
        }
        if (config.DataDirPath is null) throw new NodeStartupException("config: no data directory configured");
        var bundles = config.RuntimePaths.Select(p => OrcBundle.Open(p.FullPath)).ToList();
        var km = bundles.Where(b => b.RuntimeId == config.KmRuntimeId).ToList();
        if (km.Count != 1)
            throw new NodeStartupException($"worker/keymanager: expected a single runtime version (got {km.Count})");
        var bundle = km[0];
        return new NodeSetup(config.DataDirPath, config.KmRuntimeId, bundle.Path, bundle.Version,
            bundle.EnclaveIdentity ?? throw new NodeStartupException("runtime/bundle: no enclave in the key manager bundle"),
            config.LogFilePath ?? Path.Combine(config.DataDirPath, "node.log"))
        {
            Socket = config.SocketPath!,
            Identity = BundleEnclave.Of(bundle) ?? throw new NodeStartupException("runtime/bundle: the key manager bundle has no SGX enclave and signature"),
        };
    }
}

/// <summary>A startup failure that a real oasis-node reports and exits on.</summary>
public sealed class NodeStartupException(string message) : Exception(message);
