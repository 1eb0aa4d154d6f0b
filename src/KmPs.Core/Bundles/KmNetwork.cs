namespace KmPs.Core.Bundles;

/// <summary>The public Oasis networks whose key manager runtimes the module knows.</summary>
public enum KmNetwork
{
    Mainnet,
    Testnet,
}

/// <summary>
/// The public networks' key manager runtimes: Mainnet's and Testnet's KM runtime ids, and the
/// "-testnet" suffix that marks a Testnet build in a version text (the key manager ParaTime's
/// release tags, e.g. v0.6.0-testnet). A bundle of one network cannot serve the other.
/// </summary>
public static class KmNetworks
{
    public const string MainnetKeyManager = "4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac";
    public const string TestnetKeyManager = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public const string TestnetSuffix = "-testnet";

    /// <summary>The network whose key manager runs <paramref name="runtimeId"/>; null for any other runtime.</summary>
    public static KmNetwork? OfRuntime(string? runtimeId) => runtimeId?.Trim().ToLowerInvariant() switch
    {
        MainnetKeyManager => KmNetwork.Mainnet,
        TestnetKeyManager => KmNetwork.Testnet,
        _ => null,
    };

    /// <summary>Testnet when the text (a version, release tag or file name) ends in -testnet, else null: a plain version names no network.</summary>
    public static KmNetwork? OfVersionText(string? text)
    {
        var t = text?.Trim() ?? "";
        if (t.EndsWith(".orc", StringComparison.OrdinalIgnoreCase)) t = t[..^4];
        return t.EndsWith(TestnetSuffix, StringComparison.OrdinalIgnoreCase) ? KmNetwork.Testnet : null;
    }

    /// <summary>The network's key manager runtime id.</summary>
    public static string KeyManagerOf(KmNetwork network) => network == KmNetwork.Mainnet ? MainnetKeyManager : TestnetKeyManager;

    /// <summary>A bundle's network: its runtime id's, else what its file name says (…-testnet.orc), else null.</summary>
    public static KmNetwork? OfBundle(OrcBundle bundle) => OfRuntime(bundle.RuntimeId) ?? OfVersionText(Path.GetFileName(bundle.Path));
}
