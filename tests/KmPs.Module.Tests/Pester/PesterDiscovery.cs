using System.Management.Automation.Language;
using KmPs.Tests.Support;

namespace KmPs.Module.Tests.Pester;

/// <summary>
/// The tests of tests/Pester/*.Tests.ps1, found by PowerShell's own parser without running anything:
/// Describe / Context / It names, with -ForEach / -TestCases expanded where their value is a literal
/// array of hashtables (inline, or a variable assigned once in the file's BeforeDiscovery block).
/// A test's id is "File: Describe > Context > It" with the names expanded as Pester expands them
/// ("&lt;Name&gt;" from the data), the same id the runner writes for each test it ran.
/// </summary>
public static class PesterDiscovery
{
    public static string SuiteDir => Path.Combine(TestPaths.RepoRoot, "tests", "Pester");

    public static string Id(string file, IEnumerable<string> names) => file + ": " + string.Join(" > ", names);

    public static IReadOnlyList<string> Discover() =>
        Directory.GetFiles(SuiteDir, "*.Tests.ps1").OrderBy(f => f, StringComparer.Ordinal).SelectMany(DiscoverFile).ToList();

    public static IEnumerable<string> DiscoverFile(string path)
    {
        var ast = Parser.ParseFile(path, out _, out var errors);
        if (errors.Length > 0) throw new InvalidOperationException($"{path} does not parse: {errors[0].Message} at line {errors[0].Extent.StartLineNumber}");
        var discoveryData = DiscoveryVariables(ast);
        var file = Path.GetFileName(path);
        var ids = new List<string>();
        Walk(ast, new List<string>(), new Dictionary<string, string>(), discoveryData, file, ids);
        return ids;
    }

    private static readonly string[] Blocks = { "Describe", "Context" };

    private static void Walk(Ast scope, List<string> names, Dictionary<string, string> data, Dictionary<string, ExpressionAst> vars, string file, List<string> ids)
    {
        foreach (var cmd in TopLevelCommands(scope))
        {
            var kind = cmd.GetCommandName();
            var isBlock = Blocks.Contains(kind, StringComparer.OrdinalIgnoreCase);
            var isTest = string.Equals(kind, "It", StringComparison.OrdinalIgnoreCase);
            if (!isBlock && !isTest) continue;
            var (name, body, forEach) = Arguments(cmd, file);
            var rows = forEach is null ? new List<Dictionary<string, string>> { new() } : Rows(forEach, vars, file, cmd);
            foreach (var row in rows)
            {
                var merged = new Dictionary<string, string>(data, StringComparer.OrdinalIgnoreCase);
                foreach (var (k, v) in row) merged[k] = v;
                var expanded = Expand(name, merged, file, cmd);
                var path = new List<string>(names) { expanded };
                if (isTest) ids.Add(Id(file, path));
                else if (body is not null) Walk(body, path, merged, vars, file, ids);
            }
        }
    }

    /// <summary>The commands directly in a script block's statements (not inside nested script blocks).</summary>
    private static IEnumerable<CommandAst> TopLevelCommands(Ast scope)
    {
        var block = scope switch
        {
            ScriptBlockAst sb => sb,
            ScriptBlockExpressionAst e => e.ScriptBlock,
            _ => throw new InvalidOperationException("not a script block"),
        };
        return block.FindAll(a => a is CommandAst c && Enclosing(c) == block, searchNestedScriptBlocks: true).Cast<CommandAst>();
    }

    private static ScriptBlockAst? Enclosing(Ast a)
    {
        for (var p = a.Parent; p is not null; p = p.Parent) if (p is ScriptBlockAst sb) return sb;
        return null;
    }

    private static (string Name, ScriptBlockExpressionAst? Body, ExpressionAst? ForEach) Arguments(CommandAst cmd, string file)
    {
        string? name = null;
        ScriptBlockExpressionAst? body = null;
        ExpressionAst? forEach = null;
        var elements = cmd.CommandElements;
        for (var i = 1; i < elements.Count; i++)
        {
            var e = elements[i];
            if (e is CommandParameterAst p)
            {
                var value = p.Argument ?? (i + 1 < elements.Count && elements[i + 1] is ExpressionAst next ? next : null);
                if (p.Argument is null && value is not null) i++;
                switch (p.ParameterName.ToLowerInvariant())
                {
                    case "foreach": case "testcases": forEach = value; break;
                    case "name": name = Literal(value, file, cmd); break;
                    case "fixture": case "test": body = value as ScriptBlockExpressionAst; break;
                }
                continue;
            }
            if (e is ScriptBlockExpressionAst sb) body ??= sb;
            else if (name is null && e is ExpressionAst x) name = Literal(x, file, cmd);
        }
        return (name ?? throw new InvalidOperationException($"{file}:{cmd.Extent.StartLineNumber}: {cmd.GetCommandName()} without a literal name"), body, forEach);
    }

    private static string Literal(Ast? a, string file, Ast at) => a switch
    {
        StringConstantExpressionAst s => s.Value,
        ExpandableStringExpressionAst e when e.NestedExpressions.Count == 0 => e.Value,
        _ => throw new InvalidOperationException($"{file}:{at.Extent.StartLineNumber}: the name must be a literal string for discovery"),
    };

    /// <summary>Variables assigned in the file's BeforeDiscovery block: name (without scope) -> value expression.</summary>
    private static Dictionary<string, ExpressionAst> DiscoveryVariables(ScriptBlockAst file)
    {
        var vars = new Dictionary<string, ExpressionAst>(StringComparer.OrdinalIgnoreCase);
        foreach (var cmd in TopLevelCommands(file).Where(c => string.Equals(c.GetCommandName(), "BeforeDiscovery", StringComparison.OrdinalIgnoreCase)))
            foreach (var sb in cmd.CommandElements.OfType<ScriptBlockExpressionAst>())
                foreach (var assign in sb.ScriptBlock.FindAll(a => a is AssignmentStatementAst, true).Cast<AssignmentStatementAst>())
                    if (assign.Left is VariableExpressionAst v)
                        vars[Bare(v.VariablePath)] = assign.Right switch
                        {
                            CommandExpressionAst ce => ce.Expression,
                            PipelineAst { PipelineElements.Count: 1 } pa when pa.PipelineElements[0] is CommandExpressionAst ce2 => ce2.Expression,
                            _ => null!,
                        } ?? throw new InvalidOperationException($"{v.VariablePath}: BeforeDiscovery data must be a literal");
        return vars;
    }

    /// <summary>The data rows of -ForEach: each a hashtable literal whose constant values name the test.</summary>
    private static List<Dictionary<string, string>> Rows(ExpressionAst forEach, Dictionary<string, ExpressionAst> vars, string file, Ast at)
    {
        if (forEach is VariableExpressionAst v)
            forEach = vars.TryGetValue(Bare(v.VariablePath), out var value) ? value
                : throw new InvalidOperationException($"{file}:{at.Extent.StartLineNumber}: -ForEach ${v.VariablePath} is not assigned in BeforeDiscovery");
        var hashtables = forEach.FindAll(a => a is HashtableAst, searchNestedScriptBlocks: false).Cast<HashtableAst>()
            .Where(h => !h.Ancestors().Skip(1).Any(p => p is HashtableAst)).ToList();
        if (hashtables.Count == 0) throw new InvalidOperationException($"{file}:{at.Extent.StartLineNumber}: -ForEach must be literal hashtables for discovery");
        return hashtables.Select(h => h.KeyValuePairs.ToDictionary(
            kv => kv.Item1 is StringConstantExpressionAst k ? k.Value : kv.Item1.Extent.Text,
            kv => ConstantOf(kv.Item2),
            StringComparer.OrdinalIgnoreCase)).ToList();
    }

    private static string ConstantOf(StatementAst s) =>
        s is PipelineAst { PipelineElements.Count: 1 } p && p.PipelineElements[0] is CommandExpressionAst { Expression: ConstantExpressionAst c }
            ? Convert.ToString(c.Value, System.Globalization.CultureInfo.InvariantCulture) ?? ""
            : "\0"; // not a constant: usable as data, not in a name

    private static string Expand(string template, Dictionary<string, string> data, string file, Ast at) =>
        System.Text.RegularExpressions.Regex.Replace(template, "<([^<>]+)>", m =>
            data.TryGetValue(m.Groups[1].Value, out var v) && v != "\0" ? v
                : throw new InvalidOperationException($"{file}:{at.Extent.StartLineNumber}: <{m.Groups[1].Value}> in '{template}' is not a constant of its -ForEach data"));

    private static string Bare(System.Management.Automation.VariablePath p) => p.UserPath[(p.UserPath.IndexOf(':') + 1)..];

    private static IEnumerable<Ast> Ancestors(this Ast a)
    {
        for (var p = a; p is not null; p = p.Parent) yield return p;
    }
}
