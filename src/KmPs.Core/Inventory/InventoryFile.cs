using System.Text.Json;
using System.Text.Json.Serialization;

namespace KmPs.Core.Inventory;

/// <summary>
/// The JSON inventory: <c>{"nodes": [ {"name": ..., "dataDir": ..., ...} ]}</c> or a bare array.
/// (The .psd1 form is parsed by the cmdlet with PowerShell's own parser.)
/// </summary>
/// <summary>One entry of an inventory file: its node, or why it is not usable.</summary>
public sealed record InventoryEntry(int Index, string Name, KmNode Node, KmException? Error);

public static class InventoryFile
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private sealed class Document
    {
        public List<KmNode>? Nodes { get; set; }
    }

    /// <summary>Every node of a JSON inventory; the first bad entry throws (see <see cref="ParseJsonEntries"/> for one verdict per entry).</summary>
    public static IReadOnlyList<KmNode> ParseJson(string text, string source) => Check(ReadJson(text, source), source);

    /// <summary>Every entry of a JSON inventory, each checked on its own; a file that is not an inventory throws.</summary>
    public static IReadOnlyList<InventoryEntry> ParseJsonEntries(string text, string source) => CheckEach(ReadJson(text, source), source);

    private static List<KmNode> ReadJson(string text, string source)
    {
        List<KmNode>? nodes;
        try
        {
            var trimmed = text.TrimStart();
            nodes = trimmed.StartsWith('[')
                ? JsonSerializer.Deserialize<List<KmNode>>(text, Json)
                : JsonSerializer.Deserialize<Document>(text, Json)?.Nodes;
        }
        catch (JsonException e)
        {
            throw new KmException(InventoryErrorIds.InventoryInvalid, KmErrorCategory.InvalidData,
                $"{source} is not a valid inventory: {e.Message}", source, e);
        }
        if (nodes is null || nodes.Count == 0)
            throw new KmException(InventoryErrorIds.InventoryEmpty, KmErrorCategory.InvalidData, $"{source} lists no nodes.", source);
        return nodes;
    }

    /// <summary>Validates every node and refuses duplicate names or data dirs; the first bad entry throws.</summary>
    public static IReadOnlyList<KmNode> Check(IReadOnlyList<KmNode> nodes, string source)
    {
        var entries = CheckEach(nodes, source);
        if (entries.FirstOrDefault(e => e.Error is not null) is { } bad) throw bad.Error!;
        return entries.Select(e => e.Node).ToList();
    }

    /// <summary>
    /// Validates every entry on its own: a bad entry is an error for that entry, the others are
    /// checked all the same. Both entries of a duplicate name or data dir are in error (which one is
    /// the real node cannot be told). Every node remembers its file and the names of all entries, so
    /// an upgrade can tell whether it was given the whole inventory.
    /// </summary>
    public static IReadOnlyList<InventoryEntry> CheckEach(IReadOnlyList<KmNode> nodes, string source)
    {
        var full = Path.GetFullPath(source);
        var baseDir = Path.GetDirectoryName(full);
        var names = nodes.Select((n, i) => string.IsNullOrWhiteSpace(n.Name) ? $"entry {i + 1}" : n.Name).ToArray();
        var errors = new KmException?[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            nodes[i].InventoryPath = full;
            nodes[i].InventoryNames = names;
            try { nodes[i].Validate(baseDir); }
            catch (KmException e) { errors[i] = Entry(e, source, i, names[i]); }
        }
        var valid = Enumerable.Range(0, nodes.Count).Where(i => errors[i] is null).ToList();
        foreach (var g in valid.GroupBy(i => nodes[i].Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            foreach (var i in g)
                errors[i] = new KmException(InventoryErrorIds.InventoryDuplicate, KmErrorCategory.InvalidData, $"{source}: node name '{g.Key}' appears twice.", names[i]);
        // Data dirs are per machine: two nodes on different hosts may use the same path.
        foreach (var g in valid.Where(i => errors[i] is null).GroupBy(i => (nodes[i].Machine, nodes[i].DataDir)).Where(g => g.Count() > 1))
            foreach (var i in g)
                errors[i] = new KmException(InventoryErrorIds.InventoryDuplicate, KmErrorCategory.InvalidData,
                    $"{source}: nodes {string.Join(", ", g.Select(j => names[j]))} share the data dir {g.Key.DataDir}" +
                    (g.Key.Machine is string { Length: > 0 } host ? $" on {host}." : "."), names[i]);
        return Enumerable.Range(0, nodes.Count).Select(i => new InventoryEntry(i + 1, names[i], nodes[i], errors[i])).ToList();
    }

    // The entry's error, saying which entry it is (the node's own message may not name it).
    private static KmException Entry(KmException e, string source, int index, string name) =>
        e.Message.Contains(name, StringComparison.Ordinal) ? new KmException(e.ErrorId, e.Category, e.Message, name, e) { RecommendedAction = e.RecommendedAction }
            : new KmException(e.ErrorId, e.Category, $"{source}, {name} (entry {index + 1}): {e.Message}", name, e) { RecommendedAction = e.RecommendedAction };

    public static string ToJson(IEnumerable<KmNode> nodes) => JsonSerializer.Serialize(new Document { Nodes = nodes.ToList() }, Json);
}
