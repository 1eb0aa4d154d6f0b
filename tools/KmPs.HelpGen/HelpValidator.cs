using KmPs.HelpGen.Markdown;
using KmPs.HelpGen.Reflection;

namespace KmPs.HelpGen;

/// <summary>The rules a cmdlet's markdown must meet before any MAML is written.</summary>
public static class HelpValidator
{
    public const int MinimumExamples = 2;

    public static List<HelpError> Validate(CommandModel command, HelpDocument doc)
    {
        var errors = new List<HelpError>(doc.Errors);
        void Error(int line, string message) => errors.Add(new HelpError(doc.Path, line, message));

        if (doc.Title is not null && !string.Equals(doc.Title, command.Name, StringComparison.OrdinalIgnoreCase))
            Error(doc.TitleLine, $"title '# {doc.Title}' does not match the cmdlet {command.Name}");
        if (doc.Synopsis is null)
            Error(0, $"{command.Name}: '## SYNOPSIS' is missing or empty");
        if (doc.Description.Count == 0)
            Error(0, $"{command.Name}: '## DESCRIPTION' is missing or empty");

        foreach (var parameter in command.Parameters.Where(p => !p.IsShouldProcessParameter))
        {
            var documented = doc.FindParameter(parameter.Name);
            if (documented is null)
                Error(0, $"{command.Name}: parameter -{parameter.Name} has no description; add '### -{parameter.Name}' under '## PARAMETERS'");
            else if (documented.Description.Count == 0)
                Error(documented.Line, $"{command.Name}: parameter -{parameter.Name} has no description");
        }
        foreach (var documented in doc.Parameters.Where(p => command.FindParameter(p.Name) is null))
        {
            var actual = string.Join(", ", command.Parameters.Select(p => "-" + p.Name));
            Error(documented.Line, $"{command.Name} has no parameter -{documented.Name} (its parameters: {(actual.Length == 0 ? "none" : actual)})");
        }

        if (doc.Examples.Count < MinimumExamples)
            Error(0, $"{command.Name}: {doc.Examples.Count} example(s) under '## EXAMPLES'; at least {MinimumExamples} are required");
        foreach (var example in doc.Examples.Where(e => string.IsNullOrWhiteSpace(e.Code)))
            Error(example.Line, $"{command.Name}: example '{example.Title}' has no code block");

        if (command.OutputTypes.Count > 0)
            foreach (var output in doc.Outputs.Where(o => MatchOutput(command, o.TypeName) is null))
                Error(output.Line, $"{command.Name}: OUTPUTS lists {output.TypeName}, which is not in its [OutputType] ({string.Join(", ", command.OutputTypes)})");
        return errors;
    }

    /// <summary>The declared output type that a markdown "### TypeName" names (full or short name).</summary>
    public static string? MatchOutput(CommandModel command, string documented) =>
        command.OutputTypes.FirstOrDefault(t => string.Equals(t, documented, StringComparison.OrdinalIgnoreCase))
        ?? command.OutputTypes.FirstOrDefault(t => string.Equals(t.Split('.')[^1], documented.Split('.')[^1], StringComparison.OrdinalIgnoreCase));
}
