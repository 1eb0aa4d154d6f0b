namespace KmPs.HelpGen.Markdown;

/// <summary>One cmdlet's help as authored in help/&lt;Verb-Noun&gt;.md. Line numbers are 1-based.</summary>
public sealed class HelpDocument
{
    public required string Path { get; init; }
    /// <summary>The "# Verb-Noun" title, or null when the file has none.</summary>
    public string? Title { get; set; }
    public int TitleLine { get; set; }
    /// <summary>The SYNOPSIS text on one line; null when the section is missing or empty.</summary>
    public string? Synopsis { get; set; }
    public List<string> Description { get; } = new();
    public List<HelpExample> Examples { get; } = new();
    /// <summary>Documented parameters in file order, names without the leading dash.</summary>
    public List<HelpParameter> Parameters { get; } = new();
    public List<HelpTypeEntry> Inputs { get; } = new();
    public List<HelpTypeEntry> Outputs { get; } = new();
    public List<string> Notes { get; } = new();
    public List<HelpLink> Links { get; } = new();
    /// <summary>Problems found while reading the file itself (unknown sections, unclosed fences...).</summary>
    public List<HelpError> Errors { get; } = new();

    public HelpParameter? FindParameter(string name) =>
        Parameters.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}

public sealed record HelpExample(string Title, int Line)
{
    public string Code { get; set; } = "";
    public List<string> Remarks { get; } = new();
}

public sealed record HelpParameter(string Name, int Line)
{
    public List<string> Description { get; } = new();
    /// <summary>From a "Default value: X" line (plain or inside a platyPS yaml block); "None" counts as no default.</summary>
    public string? DefaultValue { get; set; }
}

public sealed record HelpTypeEntry(string TypeName, int Line)
{
    public List<string> Description { get; } = new();
}

/// <summary>A related link: "- Get-KmStatus", "- https://...", or "- [text](uri)".</summary>
public sealed record HelpLink(string Text, string? Uri);

/// <summary>A problem to report as "file(line): error KMHELP: message" (the MSBuild canonical form).</summary>
public sealed record HelpError(string File, int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}({Line}): error KMHELP: {Message}" : $"{File}: error KMHELP: {Message}";
}
