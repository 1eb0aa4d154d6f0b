using System.Xml.Linq;
using KmPs.HelpGen.Markdown;
using KmPs.HelpGen.Reflection;

namespace KmPs.HelpGen;

public sealed record GenerationResult(XDocument? Maml, IReadOnlyList<HelpError> Errors, int CommandCount)
{
    public bool Succeeded => Errors.Count == 0 && Maml is not null;
}

/// <summary>Cmdlet types + help/&lt;Verb-Noun&gt;.md files → one MAML document, or the list of what is wrong.</summary>
public static class HelpGenerator
{
    public static GenerationResult Generate(IReadOnlyList<Type> cmdletTypes, string helpDir)
    {
        var errors = new List<HelpError>();
        if (!Directory.Exists(helpDir))
            return new GenerationResult(null, new[] { new HelpError(helpDir, 0, "help folder not found") }, 0);
        if (cmdletTypes.Count == 0)
            return new GenerationResult(null, new[] { new HelpError(helpDir, 0, "the assembly has no public cmdlet with a [Cmdlet] attribute") }, 0);

        var files = Directory.EnumerateFiles(helpDir, "*.md")
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => f, StringComparer.OrdinalIgnoreCase);
        var pages = new List<(CommandModel, HelpDocument)>();
        var documented = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var type in cmdletTypes)
        {
            var command = CommandReflector.Reflect(type);
            documented.Add(command.Name);
            if (!files.TryGetValue(command.Name, out var file))
            {
                errors.Add(new HelpError(Path.Combine(helpDir, command.Name + ".md"), 0,
                    $"cmdlet {command.Name} ({type.FullName}) has no help file; write {command.Name}.md in {helpDir}"));
                continue;
            }
            var doc = HelpMarkdownParser.ParseFile(file);
            errors.AddRange(HelpValidator.Validate(command, doc));
            pages.Add((command, doc));
        }
        foreach (var (name, file) in files.Where(f => !documented.Contains(f.Key) && !f.Key.StartsWith("about_", StringComparison.OrdinalIgnoreCase)))
            errors.Add(new HelpError(file, 0, $"no cmdlet named {name} in the assembly; rename or remove this help file"));

        return errors.Count > 0
            ? new GenerationResult(null, errors, pages.Count)
            : new GenerationResult(MamlWriter.Document(pages), errors, pages.Count);
    }
}
