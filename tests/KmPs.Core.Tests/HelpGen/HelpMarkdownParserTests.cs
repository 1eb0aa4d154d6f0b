using KmPs.HelpGen.Markdown;
using KmPs.Tests.Support;

namespace KmPs.Core.Tests.HelpGen;

/// <summary>The markdown side of the help generator: what an author writes, what the parser keeps.</summary>
public class HelpMarkdownParserTests
{
    [Fact]
    public void Reads_every_section_of_a_full_page()
    {
        var doc = HelpMarkdownParser.Parse(HelpSamples.Page);
        Assert.Empty(doc.Errors);
        Assert.Equal("Get-Sample", doc.Title);
        Assert.Equal("Gets a sample over two lines.", doc.Synopsis);
        Assert.Equal(new[] { "First paragraph, wrapped in the source.", "Second paragraph." }, doc.Description);

        Assert.Equal(2, doc.Examples.Count);
        Assert.Equal("Example 1: one item", doc.Examples[0].Title);
        Assert.Equal("Get-Sample -Path a", doc.Examples[0].Code);
        Assert.Equal(new[] { "Gets a." }, doc.Examples[0].Remarks);
        Assert.Equal("$x = Get-Sample -Path a, b\n\n# a comment, not a heading\n$x | Format-List", doc.Examples[1].Code);
        Assert.Equal(new[] { "Gets a and b.", "Then lists them." }, doc.Examples[1].Remarks);

        Assert.Equal(new[] { "Path", "Mode", "Force" }, doc.Parameters.Select(p => p.Name));
        Assert.Equal(new[] { "Where to look.", "Relative paths start at the current location." }, doc.FindParameter("path")!.Description);
        Assert.Null(doc.FindParameter("Path")!.DefaultValue);
        Assert.Equal("Fast", doc.FindParameter("Mode")!.DefaultValue);
        Assert.Equal(new[] { "How to look." }, doc.FindParameter("Mode")!.Description);
        Assert.Equal("False", doc.FindParameter("Force")!.DefaultValue);
        Assert.Equal(new[] { "Overwrite." }, doc.FindParameter("Force")!.Description);

        Assert.Equal("System.String", Assert.Single(doc.Inputs).TypeName);
        Assert.Equal(new[] { "Paths." }, doc.Inputs[0].Description);
        Assert.Equal(new[] { "System.IO.FileInfo", "System.String" }, doc.Outputs.Select(o => o.TypeName));
        Assert.Equal(new[] { "A note." }, doc.Notes);
        Assert.Equal(new[]
        {
            new HelpLink("Get-Other", null),
            new HelpLink("", "https://example.org/sample"),
            new HelpLink("Online docs", "https://example.org/docs"),
        }, doc.Links);
    }

    [Fact]
    public void Tolerates_crlf_extra_blank_lines_and_trailing_spaces()
    {
        var messy = string.Join("\r\n", HelpSamples.Page.Split('\n').SelectMany(l => l.Length == 0 ? new[] { "", "  ", "" } : new[] { l + "  " }));
        var doc = HelpMarkdownParser.Parse(messy);
        var clean = HelpMarkdownParser.Parse(HelpSamples.Page);
        Assert.Empty(doc.Errors);
        Assert.Equal(clean.Synopsis, doc.Synopsis);
        Assert.Equal(clean.Description, doc.Description);
        Assert.Equal(clean.Examples.Select(e => (e.Title, e.Code, string.Join("|", e.Remarks))), doc.Examples.Select(e => (e.Title, e.Code, string.Join("|", e.Remarks))));
        Assert.Equal(clean.Parameters.Select(p => (p.Name, p.DefaultValue, string.Join("|", p.Description))),
            doc.Parameters.Select(p => (p.Name, p.DefaultValue, string.Join("|", p.Description))));
        Assert.Equal(clean.Links, doc.Links);
    }

    [Fact]
    public void Skips_platyPS_front_matter_and_syntax_and_splits_list_items()
    {
        var doc = HelpMarkdownParser.Parse("""
            ---
            external help file: KmPs.dll-Help.xml
            Module Name: OasisKeyManager
            ---

            # Get-Sample

            ## SYNOPSIS
            S.

            ## SYNTAX

            ### Default (Default)
            ```
            Get-Sample [-Path] <String[]>
            ```

            ## DESCRIPTION
            Intro:
            - first point
            - second point
            wrapped
            1. numbered
            """);
        Assert.Empty(doc.Errors);
        Assert.Equal("Get-Sample", doc.Title);
        Assert.Equal(new[] { "Intro:", "- first point", "- second point wrapped", "1. numbered" }, doc.Description);
    }

    [Theory]
    [InlineData("## EXAMPLE\nx", "unknown section '## EXAMPLE'")]
    [InlineData("## DESCRIPTION\nx\n## DESCRIPTION\ny", "appears twice")]
    [InlineData("## PARAMETERS\n### -A\nx\n### -a\ny", "parameter -a is documented twice")]
    [InlineData("## DESCRIPTION\n### Sub\nx", "'### Sub' is not allowed here")]
    [InlineData("## EXAMPLES\n### E\n```powershell\nGet-Sample", "never closed")]
    [InlineData("stray text\n# Get-Sample", "text before the '# Verb-Noun' title")]
    [InlineData("# Get-Sample\n# Get-Other", "a second '#' title")]
    public void Reports_malformed_files_with_line_numbers(string text, string expected)
    {
        var doc = HelpMarkdownParser.Parse(text, "x.md");
        var error = Assert.Single(doc.Errors);
        Assert.Contains(expected, error.Message);
        Assert.Equal("x.md", error.File);
        Assert.True(error.Line > 0);
        Assert.Matches(@"^x\.md\(\d+\): error KMHELP: ", error.ToString());
    }

    [Fact]
    public void Missing_sections_are_empty_not_errors_of_the_parser()
    {
        var doc = HelpMarkdownParser.Parse("# Get-Sample\n\n## SYNOPSIS\n\n\n## DESCRIPTION\n");
        Assert.Empty(doc.Errors);
        Assert.Null(doc.Synopsis);
        Assert.Empty(doc.Description);
        Assert.Empty(doc.Examples);
    }
}
