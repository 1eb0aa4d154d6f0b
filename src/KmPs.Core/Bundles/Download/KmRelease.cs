using KmPs.Core.Status;

namespace KmPs.Core.Bundles.Download;

/// <summary>
/// Where the key manager ParaTime publishes its bundles, and which runtime each network runs.
/// The release workflow of oasisprotocol/keymanager-paratime (<c>.github/workflows/release.yml</c>: tags
/// <c>v[0-9]+.[0-9]+*</c>, <c>orc init ... --output keymanager.orc</c>, a draft release with that one
/// artifact) publishes one asset, <c>keymanager.orc</c>, per tag and no checksum file; a Testnet build
/// has the tag suffix <c>-testnet</c> (the repository's tags: v0.6.0 and v0.6.0-testnet, ... v0.7.0-testnet). The runtime ids are kmrt Cargo.toml's
/// <c>[package.metadata.orc.release|test]</c>, as oasis docs node/network/mainnet.md and testnet.md list them.
/// </summary>
public static class KmRelease
{
    public const string MainnetRuntimeId = KmNetworks.MainnetKeyManager;
    public const string TestnetRuntimeId = KmNetworks.TestnetKeyManager;

    /// <summary>GitHub's release download path of the key manager ParaTime: <c>&lt;base&gt;&lt;tag&gt;/keymanager.orc</c>.</summary>
    public static readonly Uri DefaultBaseUri = new("https://github.com/oasisprotocol/keymanager-paratime/releases/download/");

    public const string AssetName = "keymanager.orc";
    public const string TestnetSuffix = KmNetworks.TestnetSuffix;

    public static string RuntimeId(KmNetwork network) => KmNetworks.KeyManagerOf(network);

    /// <summary>The network whose key manager runs <paramref name="runtimeId"/>; null for any other runtime.</summary>
    public static KmNetwork? NetworkOf(string? runtimeId) => KmNetworks.OfRuntime(runtimeId);

    /// <summary>The release tag: v0.6.0 on Mainnet, v0.6.0-testnet on Testnet.</summary>
    public static string Tag(OasisVersion version, KmNetwork network) =>
        "v" + version + (network == KmNetwork.Testnet ? TestnetSuffix : "");

    /// <summary>The version as its release names it: 0.6.0, 0.6.0-testnet.</summary>
    public static string Label(OasisVersion version, KmNetwork network) => Tag(version, network)[1..];

    /// <summary><c>&lt;base&gt;/&lt;tag&gt;/keymanager.orc</c>; a base without a trailing slash is read as a folder too.</summary>
    public static Uri AssetUri(Uri? baseUri, OasisVersion version, KmNetwork network)
    {
        var b = baseUri ?? DefaultBaseUri;
        if (!b.AbsolutePath.EndsWith('/')) b = new Uri(b.GetLeftPart(UriPartial.Path) + "/" + b.Query);
        return new Uri(b, Uri.EscapeDataString(Tag(version, network)) + "/" + AssetName);
    }

    /// <summary>The file name a download is saved under in a folder: keymanager-0.6.0.orc, keymanager-0.6.0-testnet.orc.</summary>
    public static string FileName(OasisVersion version, KmNetwork network) => $"keymanager-{Label(version, network)}.orc";

    /// <summary>
    /// Reads a version as an operator writes it: 0.6.0, v0.6.0, 0.6.0-testnet. A -testnet suffix names
    /// Testnet; with <paramref name="network"/> given as Mainnet that is a contradiction.
    /// </summary>
    /// <exception cref="KmException">InvalidVersion, NetworkVersionConflict.</exception>
    public static (OasisVersion Version, KmNetwork Network) ParseVersion(string text, KmNetwork? network)
    {
        var t = (text ?? "").Trim();
        var testnet = t.EndsWith(TestnetSuffix, StringComparison.OrdinalIgnoreCase);
        if (testnet) t = t[..^TestnetSuffix.Length];
        if (t.StartsWith('v') || t.StartsWith('V')) t = t[1..];
        if (t.Length == 0 || !char.IsAsciiDigit(t[0]) || !OasisVersion.TryParse(t, out var v))
            throw DownloadErrors.InvalidVersion(text ?? "");
        if (testnet && network == KmNetwork.Mainnet)
            throw DownloadErrors.NetworkVersionConflict(text!);
        return (v, testnet ? KmNetwork.Testnet : network ?? KmNetwork.Mainnet);
    }
}
