using KmPs.Simulator;

namespace KmPs.Tools;

/// <summary>
/// A tool's command line: <c>--name value</c> pairs (the simulator's <see cref="Options"/>), <c>--help</c>
/// printing the usage, and a bad argument named with the usage on stderr.
/// </summary>
public static class ToolArgs
{
    /// <summary>The options, or null when the tool ends now with <paramref name="exitCode"/> (0 after --help, 2 for a bad argument).</summary>
    public static Options? Parse(string[] args, string usage, out int exitCode)
    {
        exitCode = 0;
        Options o;
        try { o = Options.Parse(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}\n{usage}");
            exitCode = 2;
            return null;
        }
        if (o.Optional("help") is null) return o;
        Console.WriteLine(usage);
        return null;
    }
}
