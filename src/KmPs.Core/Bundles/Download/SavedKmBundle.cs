namespace KmPs.Core.Bundles.Download;

/// <summary>A key manager bundle that Save-KmRuntimeBundle downloaded, verified and saved.</summary>
public sealed class SavedKmBundle
{
    public const string DigestsOnly = "bundle digests only";

    public string Path { get; init; } = "";
    public string Name => System.IO.Path.GetFileName(Path);
    /// <summary>The runtime version of the bundle's manifest, e.g. 0.6.0.</summary>
    public string Version { get; init; } = "";
    /// <summary>The release tag it was fetched as: v0.6.0, v0.6.0-testnet.</summary>
    public string Tag { get; init; } = "";
    public KmNetwork Network { get; init; }
    public string RuntimeId { get; init; } = "";
    public long Size { get; init; }
    /// <summary>SHA-512/256 of the whole file (what Set-KmRuntimeBundle -ExpectedDigest pins).</summary>
    public string Digest { get; init; } = "";
    public string SourceUri { get; init; } = "";
    /// <summary>
    /// What the bundle was checked against beyond its own digests: the deployment read from a node,
    /// or <see cref="DigestsOnly"/> (no checksum is published with the releases, so then nothing
    /// ties the file to what the network deployed).
    /// </summary>
    public string VerifiedAgainst { get; init; } = DigestsOnly;
    /// <summary>Whether the bundle was matched with a deployment of the runtime read from a node.</summary>
    public bool DeploymentVerified { get; init; }
    /// <summary>The node (or socket) whose registry the deployment was read from.</summary>
    public string? Node { get; init; }
    /// <summary>The epoch from which the matching deployment is active.</summary>
    public ulong? ValidFrom { get; init; }
    /// <summary>Bytes an earlier, interrupted download had already fetched and this one continued from.</summary>
    public long ResumedFrom { get; init; }
    /// <summary>The file was already there with these very bytes: nothing was written.</summary>
    public bool Unchanged { get; init; }
    /// <summary>A file with other bytes was replaced (-Force).</summary>
    public bool Replaced { get; init; }

    /// <summary>The short form for the table view: "deployment" or "digests only".</summary>
    public string Verification => DeploymentVerified ? "deployment" : "digests only";
}
