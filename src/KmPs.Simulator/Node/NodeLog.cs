using System.Text.Json;

namespace KmPs.Simulator.Node;

/// <summary>
/// oasis-node's JSON log lines ({"level","module","msg",...,"ts"}), appended to the node's log
/// file, which is where a real node writes with log.file / common.log.file set.
/// </summary>
public sealed class NodeLog(string path)
{
    private readonly object _gate = new();
    public string Path { get; } = path;
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public void Write(string level, string module, string msg, params (string Key, object? Value)[] fields)
    {
        using var stream = new MemoryStream();
        // Go's encoding/json escapes only what JSON needs (not ' or +), so the lines read like oasis-node's.
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("level", level);
            w.WriteString("module", module);
            w.WriteString("msg", msg);
            foreach (var (k, v) in fields)
            {
                w.WritePropertyName(k);
                JsonSerializer.Serialize(w, v, Relaxed);
            }
            w.WriteString("ts", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'"));
            w.WriteEndObject();
        }
        var line = System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
        lock (_gate)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            File.AppendAllText(Path, line);
        }
    }

    public void Info(string module, string msg, params (string, object?)[] f) => Write("info", module, msg, f);
    public void Warn(string module, string msg, params (string, object?)[] f) => Write("warn", module, msg, f);
    public void Error(string module, string msg, params (string, object?)[] f) => Write("error", module, msg, f);
}
