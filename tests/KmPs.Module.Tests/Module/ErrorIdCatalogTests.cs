using System.Text.RegularExpressions;
using KmPs.Tests.Support;

namespace KmPs.Module.Tests.Module;

/// <summary>
/// Every ErrorId comes from a catalog (a static class named *ErrorIds, next to the code of its
/// concern), and each is defined once: one id, one meaning, one place to read it. Read from the sources.
/// </summary>
public class ErrorIdCatalogTests
{
    private static IEnumerable<string> Sources(string pattern, params string[] roots) =>
        (roots.Length == 0 ? new[] { "src" } : roots)
            .SelectMany(r => Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, r), pattern, SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/") && !f.Contains("/obj/"));

    private static string Rel(string f) => Path.GetRelativePath(TestPaths.RepoRoot, f);

    /// <summary>Catalog name → its ids.</summary>
    private static Dictionary<string, List<string>> Catalogs()
    {
        var catalogs = new Dictionary<string, List<string>>();
        foreach (var f in Sources("*.cs"))
            foreach (Match c in Regex.Matches(File.ReadAllText(f), @"public static class (\w+ErrorIds)\b.*?\n}", RegexOptions.Singleline))
                catalogs[c.Groups[1].Value] = Regex.Matches(c.Value, @"public const string (\w+) = nameof\(\1\);").Select(m => m.Groups[1].Value).ToList();
        return catalogs;
    }

    [Fact]
    public void Each_ErrorId_is_defined_in_one_catalog_only()
    {
        var catalogs = Catalogs();
        Assert.True(catalogs.Count >= 10, string.Join(", ", catalogs.Keys));
        var twice = catalogs.SelectMany(c => c.Value.Select(id => (id, c.Key))).GroupBy(x => x.id).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} in {string.Join(" and ", g.Select(x => x.Key))}").ToList();
        Assert.True(twice.Count == 0, "defined in two catalogs: " + string.Join("; ", twice));
    }

    [Fact]
    public void No_ErrorId_is_written_as_a_literal_in_the_code()
    {
        // The id is the first argument: a literal anywhere in it counts, a ternary's branches too.
        var literal = new Regex(@"KmException\(\s*[^,;]*""\w+""\s*,|\(\s*""[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+"",\s*KmErrorCategory\.");
        var found = Sources("*.cs", "src", "tools").SelectMany(f => File.ReadAllLines(f).Select((line, i) => (f, line, i)))
            .Where(x => literal.IsMatch(x.line)).Select(x => $"{Rel(x.f)}:{x.i + 1}: {x.line.Trim()}").ToList();
        Assert.True(found.Count == 0, "ErrorIds written as literals (use a catalog):\n" + string.Join("\n", found));
    }

    [Fact]
    public void The_module_scripts_ErrorIds_are_in_the_catalogs()
    {
        var known = Catalogs().SelectMany(c => c.Value).ToHashSet(StringComparer.Ordinal);
        var used = Sources("*.psm1").SelectMany(f => Regex.Matches(File.ReadAllText(f), @"-ErrorId (\w+)|\[string\] \$ErrorId = '(\w+)'"))
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).Distinct().ToList();
        Assert.NotEmpty(used);
        Assert.All(used, id => Assert.Contains(id, known));
    }
}
