using System.Text.RegularExpressions;
using KmPs.Tests.Support;

namespace KmPs.Module.Tests.Module;

/// <summary>
/// Scripts match on ErrorIds (catch by FullyQualifiedErrorId): every ErrorId that README or a help
/// page names must be one the code raises, spelled the same. Read from the sources: the KmException
/// constructions in src/ (literal ids and the *ErrorIds catalogs) and the psm1's -ErrorId arguments.
/// </summary>
public class DocumentedErrorIdTests
{
    // CamelCase words in error contexts that are not ErrorIds: PowerShell's and oasis-core's own names.
    private static readonly HashSet<string> NotErrorIds = new(StringComparer.Ordinal)
    {
        "ShouldProcess", "StopProcessing", "SignedInitResponse", "FullyQualifiedErrorId", "ErrorId", "ErrorIds",
        "ErrorRecord", "ErrorActionPreference", "TargetObject", "InnerException", "RecommendedAction", "ThrowTerminatingError",
        "WriteError", "CategoryInfo", "KmException", "PSSession", "ProviderPath",
    };

    private static readonly Regex CamelCase = new(@"^[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+$");

    private static IEnumerable<string> SourceFiles(string dir, string pattern) =>
        Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, dir), pattern, SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/"));

    /// <summary>Every ErrorId the code can raise.</summary>
    private static HashSet<string> Raised()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in SourceFiles("src", "*.cs"))
        {
            var text = File.ReadAllText(f);
            foreach (Match m in Regex.Matches(text, @"KmException\(\s*""(\w+)""")) ids.Add(m.Groups[1].Value);
            foreach (Match m in Regex.Matches(text, @"public const string (\w+) = nameof\(\1\)")) ids.Add(m.Groups[1].Value);
            // Ids passed on as arguments to a helper that builds the exception: Fail("SomeId", ...).
            foreach (Match m in Regex.Matches(text, @"\(\s*""([A-Z][a-z]+(?:[A-Z][a-z0-9]*)+)"",\s*KmErrorCategory\.")) ids.Add(m.Groups[1].Value);
        }
        foreach (var f in SourceFiles("src", "*.psm1"))
            foreach (Match m in Regex.Matches(File.ReadAllText(f), @"-ErrorId (\w+)|\[string\] \$ErrorId = '(\w+)'"))
                ids.Add(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        return ids;
    }

    /// <summary>The ErrorIds a document names: after "ErrorId"/"error", in parentheses, or in backticks in a paragraph about ErrorIds.</summary>
    private static IEnumerable<(string Id, string Where)> Documented()
    {
        var docs = SourceFiles("src/OasisKeyManager/help", "*.md").Append(Path.Combine(TestPaths.RepoRoot, "README.md"));
        foreach (var f in docs)
        {
            var name = Path.GetFileName(f);
            foreach (var paragraph in Regex.Split(File.ReadAllText(f), @"\n\s*\n"))
            {
                var words = Regex.Matches(paragraph, @"(?:ErrorIds?|error) `?(\w+)`?|\(`?(\w+)`?\)").Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
                if (paragraph.Contains("ErrorId", StringComparison.Ordinal))
                    words = words.Concat(Regex.Matches(paragraph, @"`(\w+)`").Select(m => m.Groups[1].Value));
                foreach (var w in words.Where(w => CamelCase.IsMatch(w) && !NotErrorIds.Contains(w)).Distinct())
                    yield return (w, name);
            }
        }
    }

    [Fact]
    public void Every_ErrorId_named_in_README_or_help_is_raised_by_the_code()
    {
        var raised = Raised();
        Assert.True(raised.Count > 50, $"found only {raised.Count} ErrorIds in the sources: is the pattern still right?");
        var documented = Documented().ToList();
        Assert.True(documented.Count > 20, $"found only {documented.Count} ErrorIds in the docs");
        var unknown = documented.Where(d => !raised.Contains(d.Id)).Select(d => $"{d.Id} ({d.Where})").Distinct().ToList();
        Assert.True(unknown.Count == 0, "named in the docs but raised nowhere: " + string.Join(", ", unknown));
    }
}
