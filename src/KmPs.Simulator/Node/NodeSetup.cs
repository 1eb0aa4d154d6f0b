using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Sgx;
using KmPs.Core.Status;

namespace KmPs.Simulator.Node;

/// <summary>What a node takes from its config file and ORC bundle.</summary>
/// <param name="Identity">
/// The enclave's identity as its attestation proves it, its deployment lists it and the key manager
/// policy names it: the bundle's (OrcBundle.EnclaveIdentity: MRENCLAVE of its .sgxs, MRSIGNER of its SIGSTRUCT).
/// </param>
public sealed record NodeSetup(string DataDir, string KmRuntimeId, string BundlePath, OasisVersion Version, EnclaveIdentity Identity, string LogFile)
{

    /// <summary>Where the control API listens: &lt;data dir&gt;/internal.sock unless the config moves it (oasis-node InternalSocketPath()).</summary>
    public string Socket { get; init; } = Path.Combine(DataDir, "internal.sock");

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
            // go/runtime/bundle bundle.go EnclaveIdentities: no SGX metadata (or no signature) gives no identity.
            bundle.EnclaveIdentity ?? throw new NodeStartupException($"runtime/bundle: no SGX metadata or signature for 'ronl' in {Path.GetFileName(bundle.Path)}"),
            config.LogFilePath ?? Path.Combine(config.DataDirPath, "node.log"))
        {
            Socket = config.SocketPath!,
        };
    }
}

/// <summary>A startup failure that a real oasis-node reports and exits on.</summary>
public sealed class NodeStartupException(string message) : Exception(message);
