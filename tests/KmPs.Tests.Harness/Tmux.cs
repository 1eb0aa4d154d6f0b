using System.Diagnostics;

namespace KmPs.Tests.Harness;

/// <summary>
/// A real terminal: a detached tmux session of a fixed size running one command, whose screen the
/// test reads as a person would see it (tmux capture-pane). tmux is a Debian package; .ci/run
/// installs it when missing.
/// </summary>
public sealed class Tmux : IDisposable
{
    private readonly string _socket = Path.Combine(Path.GetTempPath(), $"kmps-tmux-{Guid.NewGuid():N}"[..24]);
    public int Columns { get; }
    public int Rows { get; }
    private const string Session = "km";

    private Tmux(int columns, int rows) { Columns = columns; Rows = rows; }

    /// <summary>Starts <paramref name="command"/> (a shell command line) in a terminal of this size; it stays on screen after it ends.</summary>
    public static Tmux Start(string command, int columns, int rows)
    {
        Assert.True(File.Exists("/usr/bin/tmux") || File.Exists("/bin/tmux"), "tmux is not installed (apt-get install tmux; .ci/run does it as root)");
        var t = new Tmux(columns, rows);
        t.Run("new-session", "-d", "-s", Session, "-x", columns.ToString(), "-y", rows.ToString(), command + "; echo '[exit '$?']'; sleep 3600");
        return t;
    }

    /// <summary>The visible screen, one string per row; <paramref name="joined"/>: rows the terminal wrapped come back as one line.</summary>
    public string[] Screen(bool joined = false)
    {
        var args = new List<string> { "capture-pane", "-p", "-t", Session };
        if (joined) args.Add("-J");
        return Run(args.ToArray()).Split('\n');
    }

    /// <summary>The whole output so far (screen and scrollback), rows the terminal wrapped joined.</summary>
    public string[] History() => Run("capture-pane", "-p", "-J", "-S", "-", "-t", Session).Split('\n');

    /// <summary>Polls the screen until <paramref name="seen"/> holds; the screen at that moment.</summary>
    public string[] WaitFor(Func<string[], bool> seen, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var screen = Screen();
            if (seen(screen)) return screen;
            if (DateTime.UtcNow > deadline) Assert.Fail($"not seen within {timeout.TotalSeconds:0} s: {what}. Screen:\n{string.Join('\n', screen)}");
            Thread.Sleep(100);
        }
    }

    private string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-S");
        psi.ArgumentList.Add(_socket);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {err.Result}");
        return output;
    }

    public void Dispose()
    {
        try { Run("kill-server"); } catch (InvalidOperationException) { }
        try { File.Delete(_socket); } catch (IOException) { }
    }
}
