using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KmPs.Support;

/// <summary>JSON nodes to PSCustomObjects, arrays and scalars, the way ConvertFrom-Json builds them.</summary>
public static class JsonToPs
{
    public static object? Convert(JsonNode? node)
    {
        switch (node)
        {
            case null: return null;
            case JsonObject o:
            {
                var ps = new PSObject();
                foreach (var (key, value) in o) ps.Properties.Add(new PSNoteProperty(key, Convert(value)));
                return ps;
            }
            case JsonArray a: return a.Select(Convert).ToArray();
            case JsonValue v:
                if (v.TryGetValue(out string? s)) return s;
                if (v.TryGetValue(out bool b)) return b;
                if (v.TryGetValue(out ulong u)) return u <= long.MaxValue ? (long)u : (object)u;
                if (v.TryGetValue(out long l)) return l;
                if (v.TryGetValue(out double d)) return d;
                return v.ToJsonString();
            default: return node.ToJsonString();
        }
    }
}
