using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace KmPs.Core.Config;

/// <summary>Loads YAML text into YamlDotNet's representation model, with errors that say where.</summary>
internal static class YamlText
{
    /// <summary>The first document's root (what yaml.v3's Decoder.Decode reads), or null when empty.</summary>
    public static YamlNode? LoadRoot(string text, string path)
    {
        var parser = new TrackingParser(new Parser(new StringReader(text)));
        var stream = new YamlStream();
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            throw ConfigErrors.InvalidYaml(path, e.InnerException?.Message ?? e.Message, e.Start.Line, e.Start.Column, e);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these for some malformed input, without a position: use the last good event's.
            throw ConfigErrors.InvalidYaml(path, e.Message, parser.LastGood.Line, parser.LastGood.Column, e);
        }
        return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
    }

    /// <summary>YAML's null: a plain empty, ~ or null scalar.</summary>
    public static bool IsNull(YamlNode? node) =>
        node is null || node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    /// <summary>Remembers where the last event that parsed ended.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        public Mark LastGood { get; private set; } = Mark.Empty;
        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var more = inner.MoveNext();
            if (inner.Current is { } e) LastGood = e.End;
            return more;
        }
    }
}
