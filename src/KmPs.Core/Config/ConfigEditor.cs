using System.Text;
using KmPs.Core.Bundles;
using KmPs.Core.Files;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KmPs.Core.Config;

/// <summary>A prepared change of the key manager bundle path; nothing is written until <see cref="ConfigEditor.Save(ConfigEdit, DateTimeOffset?)"/>.</summary>
public sealed record ConfigEdit(NodeConfig Config, string NewText, RuntimePathEntry Entry, string NewValue, OrcBundle Bundle)
{
    public bool Changed => NewText != Config.Text;
}

/// <summary>Where a saved config went, and the backup of what it replaced.</summary>
public sealed record SavedConfig(string Path, string BackupPath);

/// <summary>
/// Edits one scalar of a config file in place: the new value is spliced into the text at the
/// scalar's position (YamlDotNet marks), so comments, order, indentation and the quoting style
/// survive byte for byte. Every splice is checked by parsing the result.
/// </summary>
public static class ConfigEditor
{
    /// <summary>Replaces the one value scalar equal to <paramref name="oldValue"/>.</summary>
    /// <exception cref="KmException">ConfigValueNotFound, ConfigValueAmbiguous, ConfigEditUnsupported, ConfigInvalidYaml.</exception>
    public static string ReplaceScalar(string text, string oldValue, string newValue, string path = "(config)")
    {
        var root = YamlText.LoadRoot(text, path);
        var matches = root is null ? new List<Located>() : Scalars(root).Where(s => !s.IsKey && s.Node.Value == oldValue).DistinctBy(s => s.Node.Start.Index).ToList();
        return matches.Count switch
        {
            0 => throw new KmException(ConfigErrorIds.ConfigValueNotFound, KmErrorCategory.ObjectNotFound, $"'{path}' has no value '{oldValue}'.", path),
            1 => Splice(text, path, matches[0].Node, newValue),
            _ => throw new KmException(ConfigErrorIds.ConfigValueAmbiguous, KmErrorCategory.InvalidArgument,
                $"'{path}' has the value '{oldValue}' {matches.Count} times (lines {string.Join(", ", matches.Select(m => m.Node.Start.Line))}).", path),
        };
    }

    /// <summary>
    /// Prepares replacing the key manager ORC in runtime.paths by <paramref name="newOrcPath"/> (written
    /// as given; relative paths count from the config's folder).
    /// </summary>
    /// <exception cref="KmException">BundleRuntimeMismatch, ConfigTwoKmBundles, ConfigNoKmBundle, ConfigEditUnsupported, and the bundle errors of opening the ORCs.</exception>
    public static ConfigEdit SetKmBundlePath(NodeConfig config, string newOrcPath, Func<string, OrcBundle>? open = null)
    {
        open = Memoize(open ?? OrcBundle.Open);
        var newFull = config.ResolvePath(newOrcPath);
        var bundle = open(newFull);
        if (bundle.RuntimeId != config.KmRuntimeId)
            throw ConfigErrors.RuntimeMismatch(config.Path, newFull, bundle.RuntimeId, config.KmRuntimeId);

        var entry = config.FindKmBundle(open) ?? throw ConfigErrors.NoKmBundle(config.Path, config.KmRuntimeId);
        if (entry.Value == newOrcPath) return new ConfigEdit(config, config.Text, entry, newOrcPath, bundle);

        var text = Splice(config.Text, config.Path, entry.Node, newOrcPath);
        // Read the result back as oasis-node would: same paths but the one, and exactly one KM bundle.
        var after = NodeConfig.Parse(text, config.Path);
        var expected = config.RuntimePaths.Select(p => p.Index == entry.Index ? newOrcPath : p.Value);
        if (!after.RuntimePaths.Select(p => p.Value).SequenceEqual(expected) || after.KmRuntimeId != config.KmRuntimeId)
            throw ConfigErrors.EditUnsupported(config.Path, "the edited text does not read back as intended");
        var km = after.FindKmBundles(open);
        if (km.Count != 1)
            throw ConfigErrors.TwoKmBundles(config.Path, config.KmRuntimeId, km.Select(k => k.Value), "would then list");
        return new ConfigEdit(config, text, entry, newOrcPath, bundle);
    }

    /// <summary>Opens each bundle once: checking the result opens the same files again.</summary>
    private static Func<string, OrcBundle> Memoize(Func<string, OrcBundle> open)
    {
        var opened = new Dictionary<string, OrcBundle>();
        return path => opened.TryGetValue(path, out var b) ? b : opened[path] = open(path);
    }

    /// <summary>Saves a prepared edit: see <see cref="Save(NodeConfig, string, DateTimeOffset?)"/>.</summary>
    public static SavedConfig Save(ConfigEdit edit, DateTimeOffset? now = null) => Save(edit.Config, edit.NewText, now);

    /// <summary>
    /// Replaces the config file with <paramref name="newText"/>, after checking that the file is still
    /// what was read, and keeps a timestamped backup of it beside it. Mode and owner are kept.
    /// </summary>
    /// <exception cref="KmException">ConfigChangedUnderneath, and the SafeFile errors.</exception>
    public static SavedConfig Save(NodeConfig config, string newText, DateTimeOffset? now = null)
    {
        byte[] current;
        try
        {
            current = File.ReadAllBytes(config.Path);
        }
        catch (FileNotFoundException)
        {
            throw ConfigErrors.ChangedUnderneath(config.Path);
        }
        if (Sha512_256.HashHex(current) != config.ContentHash) throw ConfigErrors.ChangedUnderneath(config.Path);

        var backup = SafeFile.Backup(config.Path, current, now ?? DateTimeOffset.UtcNow);
        var bytes = Encoding.UTF8.GetBytes(newText);
        SafeFile.WriteAtomic(config.Path, config.HasByteOrderMark ? [.. Encoding.UTF8.Preamble, .. bytes] : bytes);
        return new SavedConfig(config.Path, backup);
    }

    /// <summary>Puts <paramref name="newValue"/> where <paramref name="target"/> stands, in the first style that reads back right.</summary>
    internal static string Splice(string text, string path, YamlScalarNode target, string newValue)
    {
        if (target.Style is ScalarStyle.Literal or ScalarStyle.Folded)
            throw ConfigErrors.EditUnsupported(path, $"the value at line {target.Start.Line} is a block scalar (| or >)");
        if (!target.Anchor.IsEmpty || !target.Tag.IsEmpty)
            throw ConfigErrors.EditUnsupported(path, $"the value at line {target.Start.Line} has an anchor or tag (&, !)");

        var before = Scalars(YamlText.LoadRoot(text, path)!).ToList();
        // The text is parsed again here (the caller's nodes may come from another parse): find the target by position.
        var index = before.FindIndex(s => !s.IsKey && s.Node.Start.Index == target.Start.Index);
        var (start, end) = ((int)target.Start.Index, (int)target.End.Index);
        foreach (var token in YamlScalarText.Candidates(newValue, target.Style, before[index].InFlow))
        {
            var candidate = string.Concat(text.AsSpan(0, start), token, text.AsSpan(end));
            if (ReadsBackAs(candidate, path, before, index, newValue)) return candidate;
        }
        throw ConfigErrors.EditUnsupported(path, $"'{newValue}' cannot be written at line {target.Start.Line} without changing other settings");
    }

    /// <summary>True when every scalar of <paramref name="text"/> equals the old one, but the edited one, which is the new value.</summary>
    private static bool ReadsBackAs(string text, string path, List<Located> before, int index, string newValue)
    {
        YamlNode? root;
        try
        {
            root = YamlText.LoadRoot(text, path);
        }
        catch (KmException)
        {
            return false;
        }
        var after = root is null ? new List<Located>() : Scalars(root).ToList();
        if (after.Count != before.Count) return false;
        for (var i = 0; i < after.Count; i++)
        {
            var (now, was) = (after[i], before[i]);
            if (now.IsKey != was.IsKey || now.Depth != was.Depth) return false;
            var ok = i == index
                ? now.Node.Value == newValue && !(now.Node.Style == ScalarStyle.Plain && YamlText.IsNull(now.Node))
                : now.Node.Value == was.Node.Value && now.Node.Style == was.Node.Style;
            if (!ok) return false;
        }
        return true;
    }

    private sealed record Located(YamlScalarNode Node, bool IsKey, bool InFlow, int Depth);

    /// <summary>Every scalar in document order, with whether it is a key, inside a flow collection, and how deep.</summary>
    private static IEnumerable<Located> Scalars(YamlNode node, bool isKey = false, bool inFlow = false, int depth = 0)
    {
        switch (node)
        {
            case YamlScalarNode s:
                yield return new Located(s, isKey, inFlow, depth);
                break;
            case YamlSequenceNode seq:
                foreach (var child in seq.Children)
                    foreach (var x in Scalars(child, false, inFlow || seq.Style == YamlDotNet.Core.Events.SequenceStyle.Flow, depth + 1)) yield return x;
                break;
            case YamlMappingNode map:
                var flow = inFlow || map.Style == YamlDotNet.Core.Events.MappingStyle.Flow;
                foreach (var (k, v) in map.Children)
                {
                    foreach (var x in Scalars(k, true, flow, depth + 1)) yield return x;
                    foreach (var x in Scalars(v, false, flow, depth + 1)) yield return x;
                }
                break;
        }
    }
}
