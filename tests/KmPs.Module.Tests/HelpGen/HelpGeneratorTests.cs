using System.Diagnostics;
using System.Xml.Linq;
using KmPs.HelpGen;
using KmPs.HelpGen.Reflection;
using KmPs.Tests.Support;

namespace KmPs.Module.Tests.HelpGen;

/// <summary>Reflection, validation and MAML output of the help generator, and its command line against the built module.</summary>
public class HelpGeneratorTests
{
    private static readonly XNamespace Maml = MamlWriter.Maml, Command = MamlWriter.Command, Dev = MamlWriter.Dev;

    [Fact]
    public void Finds_public_concrete_cmdlets_only()
    {
        var types = CommandReflector.FindCmdletTypes(typeof(GetSampleCommand).Assembly);
        Assert.Contains(typeof(GetSampleCommand), types);
        Assert.Contains(typeof(SetSampleCommand), types);
        Assert.DoesNotContain(typeof(AbstractSampleCommand), types);
    }

    [Fact]
    public void Reflects_parameter_sets_in_PowerShell_display_order()
    {
        var c = CommandReflector.Reflect(typeof(GetSampleCommand));
        Assert.Equal("Get-Sample", c.Name);
        Assert.Equal(new[] { "Path", "Mode", "Force", "WhatIf", "Confirm" }, c.Parameters.Select(p => p.Name)); // Hidden is DontShow
        Assert.Equal(new[] { "Default", "Mode" }, c.Syntax.Select(s => s.SetName));
        Assert.Equal(new[] { "Path", "Force", "WhatIf", "Confirm" }, c.Syntax[0].Parameters.Select(p => p.Parameter.Name));
        Assert.Equal(new[] { "Path", "Mode", "Force", "WhatIf", "Confirm" }, c.Syntax[1].Parameters.Select(p => p.Parameter.Name));
        Assert.Equal(new[] { "Fast", "Thorough" }, c.FindParameter("Mode")!.AcceptedValues);
        Assert.Equal(new[] { "FullName", "PSPath" }, c.FindParameter("Path")!.Aliases);
        Assert.Equal(new[] { "System.IO.FileInfo", "System.String" }, c.OutputTypes);

        var set = CommandReflector.Reflect(typeof(SetSampleCommand));
        Assert.Equal(CommandReflector.AllParameterSets, Assert.Single(set.Syntax).SetName);
        Assert.Equal(new[] { "Count", "Level", "Map" }, set.Syntax[0].Parameters.Select(p => p.Parameter.Name)); // by position, then named
        Assert.Equal(new[] { "Low", "High" }, set.FindParameter("Level")!.AcceptedValues);
        Assert.DoesNotContain(set.Parameters, p => p.Name is "WhatIf" or "Confirm");
    }

    [Theory]
    [InlineData(typeof(string[]), "String[]", "System.String[]")]
    [InlineData(typeof(int?), "Nullable[Int32]", "System.Nullable[System.Int32]")]
    [InlineData(typeof(Dictionary<string, List<int>>), "Dictionary[String, List[Int32]]", "System.Collections.Generic.Dictionary[System.String, System.Collections.Generic.List[System.Int32]]")]
    [InlineData(typeof(byte[,]), "Byte[,]", "System.Byte[,]")]
    public void Type_names_read_like_PowerShell(Type type, string shortName, string fullName)
    {
        Assert.Equal(shortName, TypeNames.Short(type));
        Assert.Equal(fullName, TypeNames.Full(type));
    }

    [Fact]
    public void Writes_MAML_from_reflection_and_markdown()
    {
        using var dir = HelpDir(("Get-Sample", HelpSamples.Page));
        var result = HelpGenerator.Generate(new[] { typeof(GetSampleCommand) }, dir.Path);
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        var command = Assert.Single(result.Maml!.Root!.Elements(Command + "command"));

        Assert.Equal("Get", command.Element(Command + "details")!.Element(Command + "verb")!.Value);
        Assert.Equal("Gets a sample over two lines.", command.Element(Command + "details")!.Element(Maml + "description")!.Value);
        Assert.Equal(2, command.Element(Maml + "description")!.Elements(Maml + "para").Count());

        var syntax = command.Descendants(Command + "syntaxItem").ToList();
        Assert.Equal(2, syntax.Count);
        var mode = syntax[1].Elements(Command + "parameter").Single(p => p.Element(Maml + "name")!.Value == "Mode");
        Assert.Equal(("true", "named", "False"), ((string)mode.Attribute("required")!, (string)mode.Attribute("position")!, (string)mode.Attribute("pipelineInput")!));
        Assert.Equal(new[] { "Fast", "Thorough" }, mode.Element(Command + "parameterValueGroup")!.Elements().Select(e => e.Value));
        Assert.Null(syntax[0].Elements(Command + "parameter").Single(p => p.Element(Maml + "name")!.Value == "Force").Element(Command + "parameterValue"));

        var parameters = command.Element(Command + "parameters")!.Elements().ToDictionary(p => p.Element(Maml + "name")!.Value);
        Assert.Equal(new[] { "Path", "Mode", "Force", "WhatIf", "Confirm" }, parameters.Keys);
        var path = parameters["Path"];
        Assert.Equal(("true", "0", "True (ByValue)", "FullName, PSPath", "false"),
            ((string)path.Attribute("required")!, (string)path.Attribute("position")!, (string)path.Attribute("pipelineInput")!, (string)path.Attribute("aliases")!, (string)path.Attribute("globbing")!));
        Assert.Equal("System.String[]", path.Element(Dev + "type")!.Value);
        Assert.Equal("String[]", path.Element(Command + "parameterValue")!.Value);
        Assert.Equal(2, path.Element(Maml + "description")!.Elements().Count());
        Assert.Equal("Fast", parameters["Mode"].Element(Dev + "defaultValue")!.Value);
        Assert.Null(path.Element(Dev + "defaultValue"));
        Assert.Equal("false", (string)parameters["Force"].Attribute("required")!);
        Assert.Equal(MamlWriter.WhatIfDescription, parameters["WhatIf"].Element(Maml + "description")!.Value);
        Assert.Equal("wi", (string)parameters["WhatIf"].Attribute("aliases")!);

        Assert.Equal(new[] { "System.String" }, command.Descendants(Command + "inputType").Select(t => t.Element(Dev + "type")!.Value));
        Assert.Equal(new[] { ("System.IO.FileInfo", "Files."), ("System.String", "With -Mode Names.") },
            command.Descendants(Command + "returnValue").Select(r => (r.Element(Dev + "type")!.Value, r.Element(Maml + "description")!.Value)));
        Assert.Equal("A note.", command.Element(Maml + "alertSet")!.Value);

        var examples = command.Descendants(Command + "example").ToList();
        Assert.Equal("--------------------- Example 1: one item ---------------------", examples[0].Element(Maml + "title")!.Value);
        Assert.Equal("Get-Sample -Path a", examples[0].Element(Dev + "code")!.Value);
        Assert.Equal(new[] { "Gets a and b.", "Then lists them.", "" }, examples[1].Element(Dev + "remarks")!.Elements().Select(e => e.Value));

        var links = command.Descendants(Maml + "navigationLink").Select(l => (l.Element(Maml + "linkText")!.Value, l.Element(Maml + "uri")?.Value)).ToList();
        Assert.Equal(new[] { ("Get-Other", (string?)null), ("", "https://example.org/sample"), ("Online docs", "https://example.org/docs") }, links);
    }

    [Fact]
    public void Without_INPUTS_or_OutputType_the_pipeline_parameters_give_the_inputs()
    {
        using var dir = HelpDir(("Set-Sample", """
            # Set-Sample
            ## SYNOPSIS
            Sets.
            ## DESCRIPTION
            Sets a sample.
            ## EXAMPLES
            ### Example 1
            ```
            Set-Sample 1
            ```
            ### Example 2
            ```
            Set-Sample 2 High
            ```
            ## PARAMETERS
            ### -Count
            How many.
            ### -Level
            How high.
            ### -Map
            What goes where.
            """));
        var result = HelpGenerator.Generate(new[] { typeof(SetSampleCommand) }, dir.Path);
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        var command = result.Maml!.Root!.Element(Command + "command")!;
        Assert.Equal(new[] { "System.String" }, command.Descendants(Command + "inputType").Select(t => t.Element(Dev + "type")!.Value));
        Assert.Empty(command.Descendants(Command + "returnValue"));
        var count = command.Element(Command + "parameters")!.Elements().First(p => p.Element(Maml + "name")!.Value == "Count");
        Assert.Equal(("0", "Nullable[Int32]", "System.Nullable[System.Int32]"),
            ((string)count.Attribute("position")!, count.Element(Command + "parameterValue")!.Value, count.Element(Dev + "type")!.Value));
    }

    [Fact]
    public void Output_is_deterministic()
    {
        using var dir = HelpDir(("Get-Sample", HelpSamples.Page));
        var a = MamlWriter.ToText(HelpGenerator.Generate(new[] { typeof(GetSampleCommand) }, dir.Path).Maml!);
        var b = MamlWriter.ToText(HelpGenerator.Generate(new[] { typeof(GetSampleCommand) }, dir.Path).Maml!);
        Assert.Equal(a, b);
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<helpItems schema=\"maml\" xmlns=\"http://msh\">", a);
    }

    [Theory]
    [InlineData("## SYNOPSIS\nGets a sample\nover two lines.\n", "## SYNOPSIS\n", "'## SYNOPSIS' is missing or empty")]
    [InlineData("## DESCRIPTION\nFirst paragraph,\nwrapped in the source.\n\n\nSecond paragraph.\n", "", "'## DESCRIPTION' is missing or empty")]
    [InlineData("### -Force\nOverwrite.\nDefault value: False\n", "", "parameter -Force has no description; add '### -Force' under '## PARAMETERS'")]
    [InlineData("### -Force\nOverwrite.\n", "### -Force\n", "parameter -Force has no description")]
    [InlineData("## INPUTS", "### -Bogus\nNo such thing.\n\n## INPUTS", "Get-Sample has no parameter -Bogus (its parameters: -Path, -Mode, -Force, -WhatIf, -Confirm)")]
    [InlineData("### -Mode", "### -Hidden\nDontShow parameters are not documented.\n\n### -Mode", "has no parameter -Hidden")]
    [InlineData("### Example 2: two items", "## NOTES\n\nmoved\n\n### Example 2: two items", "1 example(s) under '## EXAMPLES'; at least 2 are required")]
    [InlineData("```powershell\nGet-Sample -Path a\n```\n", "", "example 'Example 1: one item' has no code block")]
    [InlineData("## NOTES", "### System.Int32\nA count.\n\n## NOTES", "OUTPUTS lists System.Int32, which is not in its [OutputType] (System.IO.FileInfo, System.String)")]
    [InlineData("# Get-Sample", "# Get-Simple", "title '# Get-Simple' does not match the cmdlet Get-Sample")]
    [InlineData("## EXAMPLES", "## EXAMPLE", "unknown section '## EXAMPLE'")]
    public void Incomplete_or_wrong_markdown_fails(string find, string replace, string expected)
    {
        Assert.Contains(find, HelpSamples.Page);
        var page = HelpSamples.Page.Replace(find, replace);
        using var dir = HelpDir(("Get-Sample", page));
        var result = HelpGenerator.Generate(new[] { typeof(GetSampleCommand) }, dir.Path);
        Assert.False(result.Succeeded);
        Assert.Null(result.Maml);
        Assert.Contains(result.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal) && e.File.EndsWith("Get-Sample.md"));
    }

    [Fact]
    public void A_cmdlet_without_a_markdown_file_fails_and_so_does_a_file_without_a_cmdlet()
    {
        using var dir = HelpDir(("Get-Sample", HelpSamples.Page), ("Get-Nothing", HelpSamples.Page.Replace("Get-Sample", "Get-Nothing")));
        var result = HelpGenerator.Generate(new[] { typeof(GetSampleCommand), typeof(SetSampleCommand) }, dir.Path);
        Assert.False(result.Succeeded);
        Assert.Equal(2, result.Errors.Count);
        Assert.Contains("cmdlet Set-Sample (KmPs.Module.Tests.HelpGen.SetSampleCommand) has no help file; write Set-Sample.md in", result.Errors[0].Message);
        Assert.EndsWith("Set-Sample.md", result.Errors[0].File);
        Assert.Contains("no cmdlet named Get-Nothing", result.Errors[1].Message);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        using var dir = HelpDir(("Get-Sample", "# Get-Sample\n## PARAMETERS\n### -Nope\nx\n"));
        var errors = HelpGenerator.Generate(new[] { typeof(GetSampleCommand) }, dir.Path).Errors.Select(e => e.Message).ToList();
        Assert.Contains(errors, e => e.Contains("SYNOPSIS"));
        Assert.Contains(errors, e => e.Contains("DESCRIPTION"));
        Assert.Contains(errors, e => e.Contains("-Path has no description"));
        Assert.Contains(errors, e => e.Contains("-Mode has no description"));
        Assert.Contains(errors, e => e.Contains("-Force has no description"));
        Assert.Contains(errors, e => e.Contains("no parameter -Nope"));
        Assert.Contains(errors, e => e.Contains("0 example(s)"));
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void Command_line_needs_all_three_options()
    {
        var err = new StringWriter();
        Assert.Equal(2, Cli.Run(new[] { "--assembly", "x.dll", "--out", "y.xml" }, TextWriter.Null, err));
        Assert.Contains("usage:", err.ToString());
        Assert.Equal(2, Cli.Run(new[] { "--bogus" }, TextWriter.Null, new StringWriter()));
    }

    [Fact]
    public void Built_tool_reproduces_the_module_help_and_fails_the_build_on_a_missing_page()
    {
        var moduleDll = Path.Combine(TestPaths.ModuleDir, "KmPs.dll");
        var builtHelp = Path.Combine(TestPaths.ModuleDir, "en-US", "KmPs.dll-Help.xml");
        using var tmp = new TempDir();

        var ok = RunTool("--assembly", moduleDll, "--help-dir", Path.Combine(TestPaths.RepoRoot, "src", "OasisKeyManager", "help"), "--out", tmp.File("ok.xml"));
        Assert.True(ok.ExitCode == 0, ok.Output);
        Assert.Equal(File.ReadAllText(builtHelp), File.ReadAllText(tmp.File("ok.xml")));

        var partial = Path.Combine(tmp.Path, "help");
        Directory.CreateDirectory(partial);
        File.Copy(Path.Combine(TestPaths.RepoRoot, "src", "OasisKeyManager", "help", "Get-KmStatus.md"), Path.Combine(partial, "Get-KmStatus.md"));
        File.WriteAllText(tmp.File("stale.xml"), "<old/>");
        var failed = RunTool("--assembly", moduleDll, "--help-dir", partial, "--out", tmp.File("stale.xml"));
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("ConvertFrom-KmExtraInfo.md: error KMHELP: cmdlet ConvertFrom-KmExtraInfo (KmPs.Cmdlets.ConvertFromKmExtraInfoCommand) has no help file", failed.Output);
        Assert.False(File.Exists(tmp.File("stale.xml")), "a failed run must not leave an older help file behind");
    }

    private static TempDir HelpDir(params (string Name, string Text)[] pages)
    {
        var dir = new TempDir("kmh");
        foreach (var (name, text) in pages) File.WriteAllText(dir.File(name + ".md"), text);
        return dir;
    }

    private static (int ExitCode, string Output) RunTool(params string[] args)
    {
        var tool = Path.Combine(TestPaths.RepoRoot, "artifacts", "bin", "KmPs.HelpGen", TestPaths.Configuration, "KmPs.HelpGen.dll");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(tool);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("KmPs.HelpGen did not finish in 60 s");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
