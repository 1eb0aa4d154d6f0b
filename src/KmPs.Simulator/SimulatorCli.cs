using KmPs.Simulator.Control;

namespace KmPs.Simulator;

/// <summary>Command line of the simulator process.</summary>
public static class SimulatorCli
{
    public const string Usage = """
        KmPs.Simulator: a simulated oasis-node for rehearsals and tests.

          serve-status --socket PATH --state FILE.json
              Serve the control API on PATH with the status snapshot in FILE (re-read on change).
              Exits on RequestShutdown, SIGTERM or SIGINT.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "serve-status" => await ServeStatusAsync(Options.Parse(args.Skip(1))),
                _ => Fail($"unknown command '{args[0]}'\n\n{Usage}"),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }

    private static async Task<int> ServeStatusAsync(Options o)
    {
        var socket = o.Required("socket");
        var backend = new SnapshotBackend(o.Required("state"));
        using var stop = new CancellationTokenSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
        await using var server = await ControlServer.StartAsync(socket, backend);
        Console.WriteLine($"listening on unix:{socket}");
        await Task.WhenAny(backend.ShutdownRequested, Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }));
        return 0;
    }
}

/// <summary>--name value pairs.</summary>
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

    public int Int(string name, int fallback) => _values.TryGetValue(name, out var v) ? int.Parse(v) : fallback;
}
