using YamlDotNet.RepresentationModel;

namespace KmPs.Core.Config;

/// <summary>Finds a setting by its dotted name in a YAML mapping.</summary>
internal static class YamlPath
{
    /// <summary>
    /// The node at <paramref name="dotted"/>, or null. With <paramref name="viperStyle"/> (22.2's
    /// viper) keys match case-insensitively and a key may itself hold dots ("runtime.mode: x" at the
    /// top level); 23.0+'s yaml.v3 matches nested keys exactly.
    /// </summary>
    public static YamlNode? Find(YamlMappingNode map, string dotted, bool viperStyle) =>
        Find(map, dotted.Split('.'), 0, viperStyle);

    private static YamlNode? Find(YamlMappingNode map, string[] parts, int start, bool viperStyle)
    {
        var longest = viperStyle ? parts.Length : start + 1;
        for (var end = longest; end > start; end--)
        {
            var child = Child(map, string.Join('.', parts[start..end]), viperStyle);
            if (child is null) continue;
            if (end == parts.Length) return child;
            if (child is YamlMappingNode inner && Find(inner, parts, end, viperStyle) is { } found) return found;
        }
        return null;
    }

    private static YamlNode? Child(YamlMappingNode map, string key, bool ignoreCase)
    {
        var comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode s && string.Equals(s.Value, key, comparison)) return v;
        return null;
    }
}
