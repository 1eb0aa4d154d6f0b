using KmPs.Core.Status;

namespace KmPs.Tools;

/// <summary>The three status generations the tools run, as their command lines and reports name them.</summary>
public static class Generations
{
    public static readonly SchemaGeneration[] All = { SchemaGeneration.V22_2, SchemaGeneration.V23_0, SchemaGeneration.V24 };

    public static string Text(SchemaGeneration g) => g switch
    {
        SchemaGeneration.V22_2 => "22.2",
        SchemaGeneration.V23_0 => "23.0",
        _ => "24",
    };

    public static SchemaGeneration Parse(string s) => s switch
    {
        "22.2" or "22" => SchemaGeneration.V22_2,
        "23.0" or "23" => SchemaGeneration.V23_0,
        "24" or "24.0" or "24+" => SchemaGeneration.V24,
        _ => throw new FormatException($"'{s}' is not a status generation (22.2, 23.0, 24)"),
    };
}
