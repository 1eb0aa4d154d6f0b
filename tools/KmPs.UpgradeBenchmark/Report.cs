namespace KmPs.UpgradeBenchmark;

/// <summary>The per-size table and where the time went.</summary>
public static class Report
{
    public static void Print(IReadOnlyList<(int Size, Analysis A)> results, IReadOnlyList<int> sizes)
    {
        var present = sizes.Where(s => results.Any(r => r.Size == s)).ToList();
        if (present.Count == 0) { Console.WriteLine("no run succeeded"); return; }
        IEnumerable<Analysis> Of(int size) => results.Where(r => r.Size == size).Select(r => r.A);
        Console.WriteLine();
        Console.WriteLine("nodes  runs  total (s)  unavoidable (s)  ratio  (min-max)");
        foreach (var s in present)
        {
            var a = Of(s).ToList();
            Console.WriteLine($"{s,5}  {a.Count,4}  {a.Average(x => x.Total),9:0.00}  {a.Average(x => x.UnavoidableTotal),15:0.00}  " +
                              $"{a.Average(x => x.Total) / a.Average(x => x.UnavoidableTotal),5:0.00}  ({a.Min(x => x.Ratio):0.00}-{a.Max(x => x.Ratio):0.00})");
        }
        Console.WriteLine();
        Console.WriteLine("where the time goes, mean seconds a run" + new string(' ', 12) + string.Concat(present.Select(s => $"{s + " nodes",10}")));
        void Rows(string title, Func<Analysis, Dictionary<string, double>> pick, IEnumerable<string> keys)
        {
            Console.WriteLine(title);
            foreach (var k in keys)
                Console.WriteLine($"  {k,-46}" + string.Concat(present.Select(s => $"{Of(s).Average(a => pick(a)[k]),10:0.00}")));
        }
        Rows("unavoidable (ideal schedule):", a => a.Unavoidable, Analysis.UnavoidableParts);
        Rows("the real run's waits:", a => a.Waits, results[0].A.Waits.Keys);
        Rows("the real run's overhead:", a => a.Overhead, Analysis.OverheadParts);
        Console.WriteLine($"  {"total overhead",-46}" + string.Concat(present.Select(s => $"{Of(s).Average(a => a.Overhead.Values.Sum()),10:0.00}")));
    }
}
