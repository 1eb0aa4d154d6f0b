using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;

namespace KmPs.Explorer;

/// <summary>Marks a member that is a record of what happened, not state a run's future depends on (left out of <see cref="WorldKey"/>).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class NotStateAttribute : Attribute;

/// <summary>
/// The text that identifies everything an invocation's future depends on: the whole model (every
/// public property and field of the cluster and its nodes, found by reflection, so a member added
/// later is part of it without anyone remembering to add it; dictionaries in key order), the journal
/// as the module reads it (its timestamps left out: the module never reads them, only whether the run
/// finished), and what the explorer's own end checks read (nodes mutated, nodes dead). Two worlds with
/// the same key answer every host call, pause and journal read of the next invocation alike, so the
/// same command over them runs the same way (the engine keeps nothing between invocations that its
/// calls read: NodeHosts and the poll clock are the explorer's, and each invocation is a new pipeline).
/// </summary>
public static class WorldKey
{
    public static string Of(World w)
    {
        var sb = new StringBuilder(4096);
        Write(sb, w.Model);
        sb.Append("\njournal ").Append(Journal(w.Journal));
        sb.Append("\nmutated ").AppendJoin(',', w.Mutated.Order(StringComparer.Ordinal));
        sb.Append("\ndead ").AppendJoin(',', w.Dead.Order(StringComparer.Ordinal));
        return sb.ToString();
    }

    /// <summary>The journal without what the module only shows: when it started, when each step was recorded, when it finished (its presence kept).</summary>
    public static string Journal(string? text)
    {
        if (text is null) return "none";
        var root = JsonNode.Parse(text)!.AsObject();
        root.Remove("started");
        if (root["finished"] is { } f) root["finished"] = f.GetValueKind() == System.Text.Json.JsonValueKind.Null ? null : "yes";
        if (root["completed"] is JsonArray steps)
            foreach (var s in steps.OfType<JsonObject>()) s.Remove("at");
        return root.ToJsonString();
    }

    private static readonly Dictionary<Type, (string Name, Func<object, object?> Get)[]> Members = new();

    private static (string Name, Func<object, object?> Get)[] MembersOf(Type t)
    {
        lock (Members)
        {
            if (Members.TryGetValue(t, out var m)) return m;
            var props = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<NotStateAttribute>() is null && p.Name != "EqualityContract")
                .Select(p => (p.Name, (Func<object, object?>)p.GetValue));
            var fields = t.GetFields(BindingFlags.Public | BindingFlags.Instance)
                .Where(f => f.GetCustomAttribute<NotStateAttribute>() is null)
                .Select(f => (f.Name, (Func<object, object?>)f.GetValue));
            m = props.Concat(fields).OrderBy(x => x.Name, StringComparer.Ordinal).ToArray();
            Members[t] = m;
            return m;
        }
    }

    private static void Write(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case null: sb.Append('~'); return;
            case string s: sb.Append(s.Length).Append(':').Append(s); return;
            case byte[] b: sb.Append('#').Append(Convert.ToHexString(b)); return;
            case Enum e: sb.Append(e.ToString()); return;
            case IFormattable f when v.GetType().IsPrimitive || v is TimeSpan or DateTimeOffset or DateTime or decimal:
                sb.Append(f.ToString(null, CultureInfo.InvariantCulture)); return;
            case bool x: sb.Append(x ? 'T' : 'F'); return;
            case IDictionary d:
                sb.Append('{');
                foreach (var k in d.Keys.Cast<object>().OrderBy(k => Convert.ToString(k, CultureInfo.InvariantCulture), StringComparer.Ordinal))
                {
                    Write(sb, k);
                    sb.Append('=');
                    Write(sb, d[k]);
                    sb.Append(';');
                }
                sb.Append('}');
                return;
            case IEnumerable items:
                sb.Append('[');
                foreach (var i in items) { Write(sb, i); sb.Append(';'); }
                sb.Append(']');
                return;
        }
        var t = v.GetType();
        sb.Append(t.Name).Append('(');
        foreach (var (name, get) in MembersOf(t))
        {
            sb.Append(name).Append('=');
            Write(sb, get(v));
            sb.Append(' ');
        }
        sb.Append(')');
    }
}
