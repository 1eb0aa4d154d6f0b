namespace KmPs.Core.Config;

/// <summary>The stable ErrorIds of node configs and their edits (scripts match on these).</summary>
public static class ConfigErrorIds
{
    public const string ConfigDataDirMismatch = nameof(ConfigDataDirMismatch);
    public const string ConfigNotFound = nameof(ConfigNotFound);
    public const string ConfigUnreadable = nameof(ConfigUnreadable);
    public const string ConfigInvalidYaml = nameof(ConfigInvalidYaml);
    public const string ConfigInvalidValue = nameof(ConfigInvalidValue);
    public const string ConfigNotKeyManager = nameof(ConfigNotKeyManager);
    public const string ConfigTwoKmBundles = nameof(ConfigTwoKmBundles);
    public const string ConfigNoKmBundle = nameof(ConfigNoKmBundle);
    public const string BundleRuntimeMismatch = nameof(BundleRuntimeMismatch);
    public const string ConfigValueNotFound = nameof(ConfigValueNotFound);
    public const string ConfigValueAmbiguous = nameof(ConfigValueAmbiguous);
    public const string ConfigEditUnsupported = nameof(ConfigEditUnsupported);
    public const string ConfigChangedUnderneath = nameof(ConfigChangedUnderneath);
}

/// <summary>Builds the config errors, so each message and recommended action is written once.</summary>
internal static class ConfigErrors
{
    public static KmException InvalidYaml(string path, string problem, long line, long column, Exception? inner = null) =>
        new(ConfigErrorIds.ConfigInvalidYaml, KmErrorCategory.InvalidData,
            $"The node config '{path}' is not valid YAML at line {line}, column {column}: {problem}", path, inner)
        { RecommendedAction = "Fix the YAML at that place (oasis-node would refuse to start too)." };

    public static KmException InvalidValue(string path, string key, string problem, long line, long column) =>
        new(ConfigErrorIds.ConfigInvalidValue, KmErrorCategory.InvalidData,
            $"In the node config '{path}', {key} (line {line}, column {column}) {problem}.", path)
        { RecommendedAction = "Fix that setting in the config file." };

    public static KmException NotKeyManager(string path, string problem) =>
        new(ConfigErrorIds.ConfigNotKeyManager, KmErrorCategory.InvalidData,
            $"The node config '{path}' is not a key manager node's config: {problem}.", path)
        { RecommendedAction = "Point at the config file of a key manager node (mode keymanager with a key manager runtime id)." };

    public static KmException TwoKmBundles(string path, string runtimeId, IEnumerable<string> bundles, string? why = null) =>
        new(ConfigErrorIds.ConfigTwoKmBundles, KmErrorCategory.InvalidOperation,
            $"The node config '{path}' {why ?? "lists"} more than one bundle of key manager runtime {runtimeId} in runtime.paths: " +
            $"{string.Join(", ", bundles)}. oasis-node refuses to run a key manager with more than one version.", path)
        { RecommendedAction = "Keep exactly one key manager ORC in runtime.paths." };

    public static KmException NoKmBundle(string path, string runtimeId) =>
        new(ConfigErrorIds.ConfigNoKmBundle, KmErrorCategory.ObjectNotFound,
            $"The node config '{path}' lists no bundle of key manager runtime {runtimeId} in runtime.paths, so there is none to replace.", path)
        { RecommendedAction = "Add the key manager ORC to runtime.paths by hand, then run again." };

    public static KmException RuntimeMismatch(string configPath, string bundlePath, string bundleId, string configId) =>
        new(ConfigErrorIds.BundleRuntimeMismatch, KmErrorCategory.InvalidArgument,
            $"The bundle '{bundlePath}' is for runtime {bundleId}, but the node config '{configPath}' runs key manager runtime {configId}.", bundlePath)
        { RecommendedAction = "Use the key manager ORC of this network (its runtime id must equal the config's key manager runtime id)." };

    public static KmException EditUnsupported(string path, string problem) =>
        new(ConfigErrorIds.ConfigEditUnsupported, KmErrorCategory.InvalidOperation,
            $"The node config '{path}' cannot be edited safely: {problem}.", path)
        { RecommendedAction = "Edit that value by hand." };

    public static KmException ChangedUnderneath(string path) =>
        new(ConfigErrorIds.ConfigChangedUnderneath, KmErrorCategory.InvalidOperation,
            $"The node config '{path}' changed after it was read; it was not replaced.", path)
        { RecommendedAction = "Read the config again and repeat the change." };
}
