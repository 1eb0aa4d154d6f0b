using System.Text.Json;
using System.Text.Json.Serialization;

namespace KmPs.Inventory;

/// <summary>
/// The JSON inventory: <c>{"nodes": [ {"name": ..., "dataDir": ..., ...} ]}</c> or a bare array.
/// (The .psd1 form is parsed by the cmdlet with PowerShell's own parser.)
/// </summary>
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

    public static IReadOnlyList<KmNode> ParseJson(string text, string source)
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
            throw new KmException("InventoryInvalid", KmErrorCategory.InvalidData,
                $"{source} is not a valid inventory: {e.Message}", source, e);
        }
        if (nodes is null || nodes.Count == 0)
            throw new KmException("InventoryEmpty", KmErrorCategory.InvalidData, $"{source} lists no nodes.", source);
        return Check(nodes, source);
    }

    /// <summary>Validates every node and refuses duplicate names or data dirs.</summary>
    public static IReadOnlyList<KmNode> Check(IReadOnlyList<KmNode> nodes, string source)
    {
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(source));
        foreach (var n in nodes) n.Validate(baseDir);
        var dupName = nodes.GroupBy(n => n.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (dupName is not null)
            throw new KmException("InventoryDuplicate", KmErrorCategory.InvalidData, $"{source}: node name '{dupName.Key}' appears twice.", source);
        // Data dirs are per machine: two nodes on different hosts may use the same path.
        var dupDir = nodes.GroupBy(n => (n.Machine, n.DataDir)).FirstOrDefault(g => g.Count() > 1);
        if (dupDir is not null)
            throw new KmException("InventoryDuplicate", KmErrorCategory.InvalidData,
                $"{source}: nodes {string.Join(", ", dupDir.Select(n => n.Name))} share the data dir {dupDir.Key.DataDir}" +
                (dupDir.Key.Machine is string { Length: > 0 } host ? $" on {host}." : "."), source);
        return nodes;
    }

    public static string ToJson(IEnumerable<KmNode> nodes) => JsonSerializer.Serialize(new Document { Nodes = nodes.ToList() }, Json);
}
