using System.Text;
using System.Xml;
using System.Xml.Linq;
using KmPs.HelpGen.Markdown;
using KmPs.HelpGen.Reflection;

namespace KmPs.HelpGen;

/// <summary>
/// Writes MAML (the format Get-Help reads for binary modules) from a reflected cmdlet and its
/// validated markdown. The layout follows what platyPS produces.
/// </summary>
public static class MamlWriter
{
    public static readonly XNamespace Msh = "http://msh";
    public static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    public static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    public static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public const string WhatIfDescription = "Shows what would happen if the cmdlet runs. The cmdlet is not run.";
    public const string ConfirmDescription = "Prompts you for confirmation before running the cmdlet.";

    public static XDocument Document(IEnumerable<(CommandModel Command, HelpDocument Doc)> commands) =>
        new(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
                commands.Select(c => CommandElement(c.Command, c.Doc))));

    public static XElement CommandElement(CommandModel command, HelpDocument doc) =>
        new(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XElement(Command + "details",
                new XElement(Command + "name", command.Name),
                new XElement(Command + "verb", command.Verb),
                new XElement(Command + "noun", command.Noun),
                Description(new[] { doc.Synopsis ?? "" })),
            Description(doc.Description),
            new XElement(Command + "syntax", command.Syntax.Select(s => SyntaxItem(command, s))),
            new XElement(Command + "parameters", command.Parameters.Select(p => Parameter(p, doc))),
            new XElement(Command + "inputTypes", Inputs(command, doc).Select(i =>
                new XElement(Command + "inputType", TypeElement(i.TypeName), Description(i.Description)))),
            new XElement(Command + "returnValues", Outputs(command, doc).Select(o =>
                new XElement(Command + "returnValue", TypeElement(o.TypeName), Description(o.Description)))),
            doc.Notes.Count == 0 ? null : new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paragraphs(doc.Notes))),
            new XElement(Command + "examples", doc.Examples.Select(e =>
                new XElement(Command + "example",
                    new XElement(Maml + "title", ExampleTitle(e.Title)),
                    new XElement(Dev + "code", e.Code),
                    // The empty paragraph keeps a blank line between examples in Get-Help's output.
                    new XElement(Dev + "remarks", Paragraphs(e.Remarks.Append("")))))),
            new XElement(Maml + "relatedLinks", doc.Links.Select(l =>
                new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", l.Text),
                    l.Uri is null ? null : new XElement(Maml + "uri", l.Uri)))));

    /// <summary>"--- Example 1: title ---", centred in 64 columns, the way Get-Help's own topics show examples.</summary>
    public static string ExampleTitle(string title)
    {
        var dashes = new string('-', Math.Max(2, (64 - title.Length - 2) / 2));
        return $"{dashes} {title} {dashes}";
    }

    private static XElement SyntaxItem(CommandModel command, SyntaxModel syntax) =>
        new(Command + "syntaxItem",
            new XElement(Maml + "name", command.Name),
            syntax.Parameters.Select(x =>
                new XElement(Command + "parameter",
                    BindingAttributes(x.Parameter, x.Binding.Mandatory, x.Binding.Position, x.Binding.ByValue, x.Binding.ByPropertyName),
                    new XElement(Maml + "name", x.Parameter.Name),
                    ValueGroup(x.Parameter),
                    ParameterValue(x.Parameter))));

    private static XElement Parameter(ParameterModel parameter, HelpDocument doc)
    {
        var documented = doc.FindParameter(parameter.Name);
        var description = documented?.Description.Count > 0 ? (IEnumerable<string>)documented.Description
            : parameter.Name == "WhatIf" ? new[] { WhatIfDescription }
            : parameter.Name == "Confirm" ? new[] { ConfirmDescription }
            : Array.Empty<string>();
        return new XElement(Command + "parameter",
            BindingAttributes(parameter, parameter.Required, parameter.Position, parameter.ByValue, parameter.ByPropertyName),
            new XAttribute("globbing", "false"),
            new XAttribute("aliases", parameter.Aliases.Count == 0 ? "none" : string.Join(", ", parameter.Aliases)),
            new XElement(Maml + "name", parameter.Name),
            Description(description),
            ValueGroup(parameter),
            ParameterValue(parameter),
            TypeElement(TypeNames.Full(parameter.Type)),
            documented?.DefaultValue is { } value ? new XElement(Dev + "defaultValue", value) : null);
    }

    private static IEnumerable<XAttribute> BindingAttributes(ParameterModel p, bool required, int? position, bool byValue, bool byPropertyName)
    {
        yield return new XAttribute("required", required ? "true" : "false");
        yield return new XAttribute("position", position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "named");
        yield return new XAttribute("pipelineInput", PipelineInput(byValue, byPropertyName));
        yield return new XAttribute("variableLength", p.Type.IsArray ? "true" : "false");
    }

    public static string PipelineInput(bool byValue, bool byPropertyName) => (byValue, byPropertyName) switch
    {
        (true, true) => "True (ByValue, ByPropertyName)",
        (true, false) => "True (ByValue)",
        (false, true) => "True (ByPropertyName)",
        _ => "False",
    };

    /// <summary>Switches take no value, so they have no parameterValue (Get-Help then shows just "-Raw").</summary>
    private static XElement? ParameterValue(ParameterModel p) =>
        p.IsSwitch ? null : new XElement(Command + "parameterValue", new XAttribute("required", "true"), TypeNames.Short(p.Type));

    /// <summary>[ValidateSet] and enum values, shown by Get-Help as "-Name {A | B}".</summary>
    private static XElement? ValueGroup(ParameterModel p) =>
        p.AcceptedValues is null ? null
            : new XElement(Command + "parameterValueGroup", p.AcceptedValues.Select(v =>
                new XElement(Command + "parameterValue", new XAttribute("required", "false"), new XAttribute("variableLength", "false"), v)));

    private static XElement TypeElement(string name) => new(Dev + "type", new XElement(Maml + "name", name));

    private static XElement Description(IEnumerable<string> paragraphs) => new(Maml + "description", Paragraphs(paragraphs));

    private static IEnumerable<XElement> Paragraphs(IEnumerable<string> paragraphs) =>
        paragraphs.Select(p => new XElement(Maml + "para", p));

    /// <summary>The markdown's INPUTS; without any, the types of the parameters that take pipeline input (elements of arrays).</summary>
    private static IEnumerable<(string TypeName, IEnumerable<string> Description)> Inputs(CommandModel command, HelpDocument doc)
    {
        if (doc.Inputs.Count > 0) return doc.Inputs.Select(i => (i.TypeName, (IEnumerable<string>)i.Description));
        var piped = command.Parameters.Where(p => p.ByValue || p.ByPropertyName)
            .Select(p => TypeNames.Full(p.Type.IsArray ? p.Type.GetElementType()! : p.Type)).Distinct().ToList();
        return piped.Count == 0
            ? new[] { ("None", (IEnumerable<string>)Array.Empty<string>()) }
            : piped.Select(t => (t, (IEnumerable<string>)Array.Empty<string>()));
    }

    /// <summary>[OutputType] with the markdown's text for each; the markdown's OUTPUTS alone when nothing is declared.</summary>
    private static IEnumerable<(string TypeName, IEnumerable<string> Description)> Outputs(CommandModel command, HelpDocument doc)
    {
        if (command.OutputTypes.Count == 0) return doc.Outputs.Select(o => (o.TypeName, (IEnumerable<string>)o.Description));
        return command.OutputTypes.Select(t => (t, doc.Outputs
            .Where(o => HelpValidator.MatchOutput(command, o.TypeName) == t)
            .SelectMany(o => o.Description)));
    }

    /// <summary>UTF-8 without BOM, two-space indent, LF line ends: stable bytes for the same input.</summary>
    public static string ToText(XDocument document)
    {
        var sb = new StringBuilder();
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", NewLineChars = "\n", Encoding = new UTF8Encoding(false) };
        using (var writer = XmlWriter.Create(new Utf8StringWriter(sb), settings)) document.Save(writer);
        return sb.Append('\n').ToString();
    }

    private sealed class Utf8StringWriter(StringBuilder sb) : StringWriter(sb)
    {
        public override Encoding Encoding => new UTF8Encoding(false);
    }
}
