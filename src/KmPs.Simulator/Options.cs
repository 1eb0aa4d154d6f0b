namespace KmPs.Simulator;

/// <summary>--name value pairs (a flag without a value is "true"). The simulator and the sandbox share it.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public static Options Parse(IEnumerable<string> args)
    {
        var o = new Options();
        string? pending = null;
        foreach (var a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null) o._values[pending] = "true";
                pending = a.Substring(2);
            }
            else if (pending is not null)
            {
                o._values[pending] = a;
                pending = null;
            }
            else throw new ArgumentException($"unexpected argument '{a}'");
        }
        if (pending is not null) o._values[pending] = "true";
        return o;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

    public string? Optional(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public int Int(string name, int fallback)
    {
        if (!_values.TryGetValue(name, out var v)) return fallback;
        return int.TryParse(v, out var i) ? i : throw new ArgumentException($"--{name} must be a number, got '{v}'");
    }
}
