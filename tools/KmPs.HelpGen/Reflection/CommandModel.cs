namespace KmPs.HelpGen.Reflection;

/// <summary>What PowerShell knows about a cmdlet from its attributes: the part of the help that is never authored.</summary>
public sealed class CommandModel
{
    public required Type ImplementingType { get; init; }
    public required string Verb { get; init; }
    public required string Noun { get; init; }
    public string Name => $"{Verb}-{Noun}";
    public bool SupportsShouldProcess { get; init; }
    /// <summary>Visible parameters in declaration order, then -WhatIf/-Confirm when the cmdlet supports ShouldProcess.</summary>
    public required IReadOnlyList<ParameterModel> Parameters { get; init; }
    /// <summary>One entry per parameter set, the default set first.</summary>
    public required IReadOnlyList<SyntaxModel> Syntax { get; init; }
    /// <summary>Full type names from [OutputType], in declaration order, without duplicates.</summary>
    public required IReadOnlyList<string> OutputTypes { get; init; }

    public ParameterModel? FindParameter(string name) =>
        Parameters.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>A parameter's binding in one parameter set (one [Parameter] attribute).</summary>
public sealed record ParameterBinding(string SetName, bool Mandatory, int? Position, bool ByValue, bool ByPropertyName);

public sealed class ParameterModel
{
    public required string Name { get; init; }
    public required Type Type { get; init; }
    public IReadOnlyList<string> Aliases { get; init; } = Array.Empty<string>();
    /// <summary>One per [Parameter] attribute; SetName is "__AllParameterSets" for set-less ones.</summary>
    public required IReadOnlyList<ParameterBinding> Bindings { get; init; }
    /// <summary>From [ValidateSet] or the names of an enum type; null when any value goes.</summary>
    public IReadOnlyList<string>? AcceptedValues { get; init; }
    /// <summary>-WhatIf and -Confirm, added for SupportsShouldProcess.</summary>
    public bool IsShouldProcessParameter { get; init; }
    public bool IsSwitch => Type == typeof(System.Management.Automation.SwitchParameter);

    /// <summary>Required only when mandatory in every set it belongs to.</summary>
    public bool Required => Bindings.All(b => b.Mandatory);

    /// <summary>The position in its first set (bindings are ordered: all-sets, then the default set, then the others).</summary>
    public int? Position => Bindings[0].Position;

    public bool ByValue => Bindings.Any(b => b.ByValue);
    public bool ByPropertyName => Bindings.Any(b => b.ByPropertyName);
}

/// <summary>One syntax line: the parameters of one set in PowerShell's display order.</summary>
public sealed record SyntaxModel(string SetName, bool IsDefault, IReadOnlyList<(ParameterModel Parameter, ParameterBinding Binding)> Parameters);
