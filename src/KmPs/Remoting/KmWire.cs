using System.Collections;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using KmPs.Support;
using KmPs.Core.Config;
using KmPs.Core.Diagnosis;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Remoting;

/// <summary>
/// How the module's results cross a remoting session. PowerShell's own serialization turns a
/// KmStatus into a property bag named Deserialized.KmPs.Core.Status.KmStatus, one level deep (nested
/// objects such as the init response become strings). The module instead sends each result as
/// JSON with its type name and rebuilds the real object on the admin host, so a remote node's
/// results are the same typed objects as a local node's: the default views, the orchestrator and
/// the checks in KmPs.Core work on them unchanged. Only the module's own result types are rebuilt.
/// </summary>
internal static class KmWire
{
    public static readonly JsonSerializerOptions Json = new()
    {
        Converters = { new JsonStringEnumConverter(), new OasisVersionConverter() },
    };

    /// <summary>The types a remote node may send back; anything else is refused.</summary>
    private static readonly Dictionary<string, Type> Types = new[]
    {
        typeof(KmStatus), typeof(KmLifecycleResult), typeof(LocalStateRecord), typeof(KmBundleChange), typeof(UpgradeProblem),
        typeof(KmDeployment), typeof(KmNode), typeof(RegistryRuntime), typeof(NodeStopCheck), typeof(NodeStatePath),
        typeof(LocalStateInfo), typeof(BundleChangePreview), typeof(LogScan), typeof(RemoteUpload), typeof(KmPs.Core.Control.KmStatusAnswer), typeof(string), typeof(string[]), typeof(bool),
    }.ToDictionary(t => t.FullName!);

    private const string PsObjectTag = "psobject";

    private sealed record Envelope(string Type, JsonNode? Value);

    public static string Encode(object? value)
    {
        if (value is PSObject ps && ps.BaseObject is not PSCustomObject) value = ps.BaseObject;
        if (value is PSObject custom) return Serialize(new Envelope(PsObjectTag, ToNode(custom)));
        if (value is null) return Serialize(new Envelope("null", null));
        var type = value.GetType();
        if (!Types.ContainsKey(type.FullName!))
            throw new KmException(RemotingErrorIds.RemoteResultUnknown, KmErrorCategory.InvalidResult, $"A remote result of type {type.FullName} cannot be sent back.", null);
        return Serialize(new Envelope(type.FullName!, JsonSerializer.SerializeToNode(value, type, Json)));
    }

    public static object? Decode(string text)
    {
        Envelope? e;
        try { e = JsonSerializer.Deserialize<Envelope>(text, Json); }
        catch (JsonException ex) { throw Bad($"an unreadable result ({ex.Message})"); }
        if (e is null || e.Type == "null") return null;
        if (e.Type == PsObjectTag) return JsonToPs.Convert(e.Value);
        if (!Types.TryGetValue(e.Type, out var type)) throw Bad($"a result of type {e.Type}, which the module does not accept");
        try { return e.Value.Deserialize(type, Json); }
        catch (JsonException ex) { throw Bad($"an unreadable {e.Type} ({ex.Message})"); }
    }

    public static T Decode<T>(string text) => Decode(text) is T t ? t : throw Bad($"something else than a {typeof(T).Name}");

    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, Json);
    public static T FromJson<T>(string json) => JsonSerializer.Deserialize<T>(json, Json) ?? throw Bad("an empty request");

    private static string Serialize(Envelope e) => JsonSerializer.Serialize(e, Json);

    private static KmException Bad(string what) =>
        new(RemotingErrorIds.RemoteResultInvalid, KmErrorCategory.InvalidResult,
            $"The remote machine sent {what}; is the same OasisKeyManager version installed there?", null);

    /// <summary>A PSCustomObject tree (Get-KmStatus -Raw) as JSON, the inverse of <see cref="JsonToPs"/>.</summary>
    private static JsonNode? ToNode(object? value)
    {
        if (value is PSObject p)
        {
            if (p.BaseObject is not PSCustomObject) return ToNode(p.BaseObject);
            var o = new JsonObject();
            foreach (var prop in p.Properties) o[prop.Name] = ToNode(prop.Value);
            return o;
        }
        return value switch
        {
            null => null,
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            long or int or ulong or uint or short or ushort or byte or sbyte or double or float or decimal =>
                JsonNode.Parse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!),
            IEnumerable e => new JsonArray(e.Cast<object?>().Select(ToNode).ToArray()),
            _ => JsonValue.Create(value.ToString()),
        };
    }

    private sealed class OasisVersionConverter : JsonConverter<OasisVersion>
    {
        public override OasisVersion Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            OasisVersion.Parse(reader.GetString() ?? "");

        public override void Write(Utf8JsonWriter writer, OasisVersion value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}

/// <summary>Where an ORC copied to a node's machine goes, and whether it is already there.</summary>
public sealed class RemoteUpload
{
    public string Destination { get; init; } = "";
    /// <summary>The same bytes (same SHA-512/256) are already at the destination: nothing to copy.</summary>
    public bool Present { get; init; }
    /// <summary>The temporary file the chunks are appended to (beside the destination).</summary>
    public string? TempPath { get; init; }
}
