using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;
using KmPs.HelpGen;
using KmPs.HelpGen.Reflection;

return Cli.Run(args, Console.Out, Console.Error);

namespace KmPs.HelpGen
{
    /// <summary>
    /// KmPs.HelpGen --assembly path/KmPs.dll --help-dir src/OasisKeyManager/help --out path/en-US/KmPs.dll-Help.xml
    /// Exit 0: written. Exit 1: the help is incomplete or wrong (errors in MSBuild's canonical form). Exit 2: bad usage.
    /// </summary>
    public static class Cli
    {
        public const string Usage = "usage: KmPs.HelpGen --assembly <path/KmPs.dll> --help-dir <folder of Verb-Noun.md> --out <path/en-US/KmPs.dll-Help.xml>";

        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var clock = Stopwatch.StartNew();
            var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] is "--assembly" or "--help-dir" or "--out" && i + 1 < args.Length) options[args[i]] = args[++i];
                else
                {
                    stderr.WriteLine($"KmPs.HelpGen: error KMHELP: unexpected argument '{args[i]}'");
                    stderr.WriteLine(Usage);
                    return 2;
                }
            }
            if (!options.TryGetValue("--assembly", out var assemblyPath) || !options.TryGetValue("--help-dir", out var helpDir) ||
                !options.TryGetValue("--out", out var outPath))
            {
                stderr.WriteLine(Usage);
                return 2;
            }

            assemblyPath = Path.GetFullPath(assemblyPath);
            outPath = Path.GetFullPath(outPath);
            GenerationResult result;
            try
            {
                var assembly = Load(assemblyPath);
                result = HelpGenerator.Generate(CommandReflector.FindCmdletTypes(assembly), Path.GetFullPath(helpDir));
            }
            catch (Exception e) when (e is IOException or BadImageFormatException or InvalidOperationException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"{assemblyPath}: error KMHELP: {e.Message}");
                return 1;
            }
            catch (Exception e)
            {
                stderr.WriteLine($"{assemblyPath}: error KMHELP: cannot reflect over the cmdlets: {e}");
                return 1;
            }

            if (!result.Succeeded)
            {
                foreach (var error in result.Errors) stderr.WriteLine(error);
                stderr.WriteLine($"KmPs.HelpGen: error KMHELP: {result.Errors.Count} problem(s) in the cmdlet help; {outPath} not written");
                // Never leave an older file behind that looks up to date.
                if (File.Exists(outPath)) File.Delete(outPath);
                return 1;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
            var temp = outPath + ".tmp";
            File.WriteAllText(temp, MamlWriter.ToText(result.Maml!));
            File.Move(temp, outPath, overwrite: true);
            stdout.WriteLine($"KmPs.HelpGen: {result.CommandCount} cmdlet(s) -> {outPath} ({clock.ElapsedMilliseconds} ms)");
            return 0;
        }

        /// <summary>
        /// Loads the module assembly into the default context: its PowerShellStandard reference binds to the
        /// System.Management.Automation this tool ships with; everything else comes from the assembly's folder
        /// or its dependencies/ folder (where the module keeps what its own load context loads).
        /// </summary>
        private static Assembly Load(string path)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"assembly not found: {path}");
            var dir = Path.GetDirectoryName(path)!;
            AssemblyLoadContext.Default.Resolving += (context, name) =>
            {
                var candidate = new[] { dir, Path.Combine(dir, "dependencies") }.Select(d => Path.Combine(d, name.Name + ".dll")).FirstOrDefault(File.Exists);
                return candidate is null ? null : context.LoadFromAssemblyPath(candidate);
            };
            return AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
        }
    }
}
