using System.Globalization;
using KmPs.Explorer.Model;
using KmPs.Core.Status;
using KmPs.Tools;

namespace KmPs.Explorer;

/// <summary>
/// Where an invocation is stopped (the pipeline, as with Ctrl+C): <c>A k</c> right after the k-th
/// mutating host call of the invocation completes (before the journal records its step), <c>B i</c>
/// at the start of plan step i (its progress bar drawn, its first host call not made).
/// </summary>
public sealed record StopPoint(char Kind, int Index)
{
    public override string ToString() => $"{Kind}{Index}";

    public static StopPoint Parse(string s)
    {
        if (s.Length < 2 || (s[0] != 'A' && s[0] != 'B') || !int.TryParse(s.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var i) || i < 1)
            throw new FormatException($"'{s}' is not a stop point (A<k> or B<i>)");
        return new StopPoint(s[0], i);
    }
}

public enum ScheduleKind
{
    /// <summary>One unattended run.</summary>
    Base,
    /// <summary>Stopped at one or two points (the second in the resume), then resumed to the end.</summary>
    Stop,
    /// <summary>-Confirm with an answer at the j-th prompt (Yes before it); a declined run is resumed to the end.</summary>
    Prompt,
    /// <summary>One fault at the start of a step; a stopped run is recovered (faults cleared) and resumed to the end.</summary>
    Fault,
    /// <summary>Stopped at a point, every node the run stopped started again by hand, then resumed to the end.</summary>
    HandStart,
}

/// <summary>The answer at the chosen prompt; Yes: Yes to every prompt.</summary>
public enum PromptAnswer { Yes, No, NoToAll, YesToAll }

/// <summary>
/// One schedule: a cluster (nodes, status generation) and what happens to the runs over it. Its text
/// is the --replay argument: <c>n3/g23.0/stop:A5,B9</c>, <c>n2/g24/prompt:No@2</c>,
/// <c>n4/g22.2/fault:KillNode@7:km1</c>, <c>n3/g23.0/handstart:A2</c>, <c>n5/g24/base</c>.
/// </summary>
public sealed record Schedule(int Nodes, SchemaGeneration Generation, ScheduleKind Kind)
{
    public IReadOnlyList<StopPoint> Stops { get; init; } = Array.Empty<StopPoint>();
    public PromptAnswer Answer { get; init; }
    public int PromptIndex { get; init; }
    public FaultKind Fault { get; init; }
    public int FaultStep { get; init; }
    public string? FaultNode { get; init; }

    public override string ToString()
    {
        var what = Kind switch
        {
            ScheduleKind.Base => "base",
            ScheduleKind.Stop => "stop:" + string.Join(",", Stops),
            ScheduleKind.Prompt => $"prompt:{Answer}@{PromptIndex}",
            ScheduleKind.Fault => $"fault:{Fault}@{FaultStep}" + (FaultNode is null ? "" : ":" + FaultNode),
            ScheduleKind.HandStart => "handstart:" + string.Join(",", Stops),
            _ => "?",
        };
        return $"n{Nodes}/g{Generations.Text(Generation)}/{what}";
    }

    public static Schedule Parse(string text)
    {
        var parts = text.Trim().Split('/');
        if (parts.Length != 3 || !parts[0].StartsWith('n') || !parts[1].StartsWith('g'))
            throw new FormatException($"'{text}' is not a schedule (n<nodes>/g<generation>/<what>)");
        var nodes = int.Parse(parts[0][1..], CultureInfo.InvariantCulture);
        var generation = Generations.Parse(parts[1][1..]);
        var what = parts[2];
        var colon = what.IndexOf(':');
        var head = colon < 0 ? what : what[..colon];
        var rest = colon < 0 ? "" : what[(colon + 1)..];
        return head switch
        {
            "base" => new Schedule(nodes, generation, ScheduleKind.Base),
            "stop" => new Schedule(nodes, generation, ScheduleKind.Stop) { Stops = rest.Split(',').Select(StopPoint.Parse).ToList() },
            "handstart" => new Schedule(nodes, generation, ScheduleKind.HandStart) { Stops = rest.Split(',').Select(StopPoint.Parse).ToList() },
            "prompt" => new Schedule(nodes, generation, ScheduleKind.Prompt)
            {
                Answer = Enum.Parse<PromptAnswer>(rest.Split('@')[0]),
                PromptIndex = int.Parse(rest.Split('@')[1], CultureInfo.InvariantCulture),
            },
            "fault" => ParseFault(nodes, generation, rest),
            _ => throw new FormatException($"'{head}' is not a schedule kind (base, stop, prompt, fault, handstart)"),
        };
    }

    private static Schedule ParseFault(int nodes, SchemaGeneration g, string rest)
    {
        var at = rest.Split('@');
        var where = at[1].Split(':');
        return new Schedule(nodes, g, ScheduleKind.Fault)
        {
            Fault = Explorer.FaultKinds.Single(k => k.ToString() == at[0]),
            FaultStep = int.Parse(where[0], CultureInfo.InvariantCulture),
            FaultNode = where.Length > 1 ? where[1] : null,
        };
    }
}
