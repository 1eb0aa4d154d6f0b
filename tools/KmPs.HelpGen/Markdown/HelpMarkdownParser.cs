using System.Text.RegularExpressions;

namespace KmPs.HelpGen.Markdown;

/// <summary>
/// Reads the platyPS-like markdown of one cmdlet. Deliberately small: "#" title, "##" sections,
/// "###" items inside EXAMPLES/PARAMETERS/INPUTS/OUTPUTS, paragraphs separated by blank lines,
/// fenced code blocks. List items ("- ", "* ", "1. ") start their own paragraph. A "## SYNTAX"
/// section (as platyPS writes it) is ignored: syntax always comes from the compiled cmdlet.
/// </summary>
public static partial class HelpMarkdownParser
{
    private enum Section { None, Unknown, Synopsis, Syntax, Description, Examples, Parameters, Inputs, Outputs, Notes, Links }

    private static readonly Dictionary<string, Section> SectionNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SYNOPSIS"] = Section.Synopsis,
        ["SYNTAX"] = Section.Syntax,
        ["DESCRIPTION"] = Section.Description,
        ["EXAMPLES"] = Section.Examples,
        ["PARAMETERS"] = Section.Parameters,
        ["INPUTS"] = Section.Inputs,
        ["OUTPUTS"] = Section.Outputs,
        ["NOTES"] = Section.Notes,
        ["RELATED LINKS"] = Section.Links,
    };

    public static HelpDocument ParseFile(string path) => Parse(File.ReadAllText(path), path);

    public static HelpDocument Parse(string text, string path = "<text>")
    {
        var doc = new HelpDocument { Path = path };
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        var section = Section.None;
        var sectionLine = 0;
        object? item = null; // the current ### item of a section that has items
        var body = new List<Line>();
        var seen = new HashSet<Section>();

        void Flush()
        {
            Apply(doc, section, sectionLine, item, Blocks(body, doc));
            body.Clear();
        }

        var inFence = false;
        var start = 0;
        if (lines.Length > 0 && lines[0].Trim() == "---")
        {
            // platyPS front matter (external help file, module name...): not needed, skipped.
            var end = Array.FindIndex(lines, 1, l => l.Trim() == "---");
            if (end > 0) start = end + 1;
        }
        for (var i = start; i < lines.Length; i++)
        {
            var raw = lines[i];
            var number = i + 1;
            if (IsFence(raw)) inFence = !inFence;
            var heading = inFence || IsFence(raw) ? null : Heading().Match(raw);
            if (heading is not { Success: true })
            {
                body.Add(new Line(raw, number));
                continue;
            }

            var level = heading.Groups[1].Length;
            var title = heading.Groups[2].Value.Trim().TrimEnd('#').Trim();
            Flush();
            switch (level)
            {
                case 1:
                    if (doc.Title is not null) doc.Errors.Add(new(path, number, "a second '#' title; one file documents one cmdlet"));
                    doc.Title = title;
                    doc.TitleLine = number;
                    section = Section.None;
                    item = null;
                    break;
                case 2:
                    item = null;
                    sectionLine = number;
                    if (!SectionNames.TryGetValue(title, out section))
                    {
                        doc.Errors.Add(new(path, number, $"unknown section '## {title}' (expected one of: {string.Join(", ", SectionNames.Keys)})"));
                        section = Section.Unknown;
                    }
                    else if (!seen.Add(section))
                        doc.Errors.Add(new(path, number, $"section '## {title}' appears twice"));
                    break;
                default:
                    item = section switch
                    {
                        Section.Examples => AddItem(doc.Examples, new HelpExample(title, number)),
                        Section.Parameters => AddParameter(doc, title, number),
                        Section.Inputs => AddItem(doc.Inputs, new HelpTypeEntry(title, number)),
                        Section.Outputs => AddItem(doc.Outputs, new HelpTypeEntry(title, number)),
                        Section.Syntax => null, // platyPS writes "### ParameterSet" here; ignored
                        _ => null,
                    };
                    if (item is null && section is not (Section.Syntax or Section.Unknown))
                        doc.Errors.Add(new(path, number, $"'{new string('#', level)} {title}' is not allowed here; '###' items belong under EXAMPLES, PARAMETERS, INPUTS or OUTPUTS"));
                    break;
            }
        }
        if (inFence) doc.Errors.Add(new(path, lines.Length, "a code fence (```) is never closed"));
        Flush();
        return doc;
    }

    private static T AddItem<T>(List<T> list, T value)
    {
        list.Add(value);
        return value;
    }

    private static HelpParameter AddParameter(HelpDocument doc, string title, int line)
    {
        var name = title.TrimStart('-').Trim();
        if (doc.FindParameter(name) is not null) doc.Errors.Add(new(doc.Path, line, $"parameter -{name} is documented twice"));
        return AddItem(doc.Parameters, new HelpParameter(name, line));
    }

    private static void Apply(HelpDocument doc, Section section, int sectionLine, object? item, List<Block> blocks)
    {
        switch (section, item)
        {
            case (Section.Synopsis, _):
                var synopsis = string.Join(" ", blocks.Select(b => b.Text.Trim())).Trim();
                doc.Synopsis = synopsis.Length == 0 ? null : synopsis;
                break;
            case (Section.Description, _):
                doc.Description.AddRange(blocks.Select(b => b.Text));
                break;
            case (Section.Notes, _):
                doc.Notes.AddRange(blocks.Select(b => b.Text));
                break;
            case (Section.Links, _):
                foreach (var b in blocks.Where(b => !b.IsCode))
                    doc.Links.Add(ParseLink(b.Text));
                break;
            case (Section.Examples, HelpExample example):
                // Code blocks before the first paragraph are the example's code; everything after is remarks.
                var code = blocks.TakeWhile(b => b.IsCode).Select(b => b.Text).ToList();
                example.Code = string.Join("\n\n", code);
                example.Remarks.AddRange(blocks.Skip(code.Count).Select(b => b.Text));
                break;
            case (Section.Parameters, HelpParameter parameter):
                foreach (var b in blocks)
                {
                    if (b.IsCode && b.Language is "yaml" or "yml")
                    {
                        // platyPS metadata block: only the default value is taken, the rest comes from reflection.
                        foreach (var yamlLine in b.Text.Split('\n'))
                            if (DefaultValueLine().Match(yamlLine) is { Success: true } m) parameter.DefaultValue = NoneToNull(m.Groups[1].Value);
                    }
                    else if (!b.IsCode && DefaultValueLine().Match(b.Text) is { Success: true } m)
                        parameter.DefaultValue = NoneToNull(m.Groups[1].Value);
                    else
                        parameter.Description.Add(b.Text);
                }
                break;
            case (Section.Inputs or Section.Outputs, HelpTypeEntry entry):
                entry.Description.AddRange(blocks.Select(b => b.Text));
                break;
            case (Section.None, _) when item is null && blocks.Count > 0 && doc.Title is null:
                doc.Errors.Add(new(doc.Path, blocks[0].Line, "text before the '# Verb-Noun' title"));
                break;
            default:
                // Text under a section that needs items (e.g. EXAMPLES before its first ###) or under SYNTAX: ignored.
                break;
        }
    }

    private static string? NoneToNull(string value)
    {
        var v = value.Trim();
        return v.Length == 0 || v.Equals("None", StringComparison.OrdinalIgnoreCase) ? null : v;
    }

    private static HelpLink ParseLink(string text)
    {
        var t = ListMarker().Replace(text.Trim(), "").Trim();
        if (MarkdownLink().Match(t) is { Success: true } m)
        {
            var uri = m.Groups[2].Value.Trim();
            return new HelpLink(m.Groups[1].Value.Trim(), uri.Length == 0 ? null : uri);
        }
        if (t.StartsWith('<') && t.EndsWith('>')) t = t[1..^1];
        return Uri.TryCreate(t, UriKind.Absolute, out var u) && (u.Scheme == "http" || u.Scheme == "https")
            ? new HelpLink("", t)
            : new HelpLink(t, null);
    }

    private sealed record Line(string Text, int Number);

    private sealed record Block(string Text, bool IsCode, string? Language, int Line);

    /// <summary>Paragraphs (lines joined by spaces) and code blocks (verbatim) of a section's body.</summary>
    private static List<Block> Blocks(List<Line> lines, HelpDocument doc)
    {
        var blocks = new List<Block>();
        var para = new List<string>();
        var paraLine = 0;
        void EndParagraph()
        {
            if (para.Count > 0) blocks.Add(new Block(string.Join(" ", para), false, null, paraLine));
            para.Clear();
        }

        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (IsFence(line.Text))
            {
                EndParagraph();
                var language = line.Text.Trim().TrimStart('`').Trim().ToLowerInvariant();
                var code = new List<string>();
                var indent = line.Text.Length - line.Text.TrimStart().Length;
                for (i++; i < lines.Count && !IsFence(lines[i].Text); i++)
                    code.Add(Unindent(lines[i].Text, indent).TrimEnd());
                blocks.Add(new Block(string.Join("\n", code).Trim('\n'), true, language.Length == 0 ? null : language, line.Number));
                continue;
            }
            var t = line.Text.Trim();
            if (t.Length == 0)
            {
                EndParagraph();
                continue;
            }
            // List items start their own paragraph; a "Default value:" line stands alone.
            var alone = DefaultValueLine().IsMatch(t);
            if (alone || ListMarker().IsMatch(t)) EndParagraph();
            if (para.Count == 0) paraLine = line.Number;
            para.Add(t);
            if (alone) EndParagraph();
        }
        EndParagraph();
        return blocks;
    }

    private static string Unindent(string s, int indent)
    {
        var n = 0;
        while (n < indent && n < s.Length && s[n] == ' ') n++;
        return s[n..];
    }

    private static bool IsFence(string line) => line.TrimStart().StartsWith("```", StringComparison.Ordinal);

    [GeneratedRegex(@"^(#{1,3})\s+(.*)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^(?:[-*+]|\d+[.)])\s+")]
    private static partial Regex ListMarker();

    [GeneratedRegex(@"^\[([^\]]*)\]\(([^)]*)\)$")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^\s*Default value:\s*(.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex DefaultValueLine();
}
