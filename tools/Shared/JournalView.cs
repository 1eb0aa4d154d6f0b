using System.Text.Json;

namespace KmPs.Tools;

/// <summary>One completed step of an upgrade journal, as the file stores it.</summary>
public sealed record JournalStep(string Key, DateTimeOffset At, string? Detail)
{
    public string Node => Key.Split(':')[0];
    public string Action => Key.Split(':')[1];
}

/// <summary>
/// A read-only view of an Invoke-KmSafeUpgrade journal file (the JSON that UpgradeJournal writes):
/// the halves, and the completed steps in the order they were recorded.
/// </summary>
public sealed class JournalView
{
    public string PlanId { get; init; } = "";
    public DateTimeOffset Started { get; init; }
    public DateTimeOffset? Finished { get; init; }
    public IReadOnlyList<string> FirstHalf { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> SecondHalf { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Skipped { get; init; } = Array.Empty<string>();
    public bool HasHalves { get; init; }
    public IReadOnlyList<JournalStep> Steps { get; init; } = Array.Empty<JournalStep>();
    /// <summary>The step that started and was not recorded as done, if any.</summary>
    public string? InProgress { get; init; }

    public static JournalView? Load(string path) => File.Exists(path) ? Parse(File.ReadAllText(path)) : null;

    /// <summary>A journal from its text (the schedule explorer keeps journals in memory between runs).</summary>
    public static JournalView Parse(string text)
    {
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        static IReadOnlyList<string> Names(JsonElement halves, string name) =>
            halves.ValueKind == JsonValueKind.Object && halves.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array
                ? a.EnumerateArray().Select(e => e.GetString()!).ToList() : Array.Empty<string>();
        var halves = root.TryGetProperty("halves", out var h) ? h : default;
        return new JournalView
        {
            PlanId = root.GetProperty("planId").GetString() ?? "",
            Started = root.GetProperty("started").GetDateTimeOffset(),
            Finished = root.TryGetProperty("finished", out var f) && f.ValueKind == JsonValueKind.String ? f.GetDateTimeOffset() : null,
            HasHalves = halves.ValueKind == JsonValueKind.Object,
            FirstHalf = Names(halves, "firstHalf"),
            SecondHalf = Names(halves, "secondHalf"),
            Skipped = Names(halves, "skipped"),
            InProgress = root.TryGetProperty("inProgress", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null,
            Steps = root.GetProperty("completed").EnumerateArray().Select(e => new JournalStep(
                e.GetProperty("key").GetString()!, e.GetProperty("at").GetDateTimeOffset(),
                e.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null)).ToList(),
        };
    }

    public int IndexOf(string key)
    {
        for (var i = 0; i < Steps.Count; i++) if (Steps[i].Key == key) return i;
        return -1;
    }

    public JournalStep? Step(string key) => Steps.FirstOrDefault(s => s.Key == key);

    public IEnumerable<JournalStep> StepsOf(string node) => Steps.Where(s => s.Node == node);

    /// <summary>The upgrade changed, or may have changed, this node: a completed step, or its step in progress.</summary>
    public bool Touched(string node) => StepsOf(node).Any() || InProgress?.Split(':')[0] == node;
}
