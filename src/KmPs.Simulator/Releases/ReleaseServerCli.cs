namespace KmPs.Simulator.Releases;

/// <summary><c>serve-releases</c>: the release server in its own process, for the Pester suite and rehearsals.</summary>
public static class ReleaseServerCli
{
    public const string Usage = """
          serve-releases --dir DIR [--port N] [--url-file FILE] [--log FILE] [--bytes-per-sec N] [--cut-after N] [--no-range]
                         [--parent-pid PID]
              Serve DIR/<tag>/keymanager.orc as GitHub serves release assets, at
              http://127.0.0.1:PORT/releases/download/<tag>/keymanager.orc (the -BaseUri of Save-KmRuntimeBundle);
              with --parent-pid, exit when that process does (a test runner that died leaves no server behind).
        """;

    public static async Task<int> RunAsync(Options o, CancellationToken stop)
    {
        await using var server = await ReleaseServer.StartAsync(o.Required("dir"), o.Int("port", 0));
        server.LogFile = o.Optional("log");
        server.BytesPerSecond = o.Int("bytes-per-sec", 0);
        server.HonourRange = o.Optional("no-range") is null;
        if (o.Int("cut-after", 0) is var cut and > 0) server.CutNext(cut);
        if (o.Optional("url-file") is { } urlFile) File.WriteAllText(urlFile, server.BaseUri.ToString());
        Console.WriteLine($"listening on {server.BaseUri}");
        using var orphaned = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (o.Int("parent-pid", 0) is var parent and > 0) _ = WatchParentAsync(parent, orphaned);
        try { await Task.Delay(Timeout.Infinite, orphaned.Token); }
        catch (OperationCanceledException) { }
        return 0;
    }

    private static async Task WatchParentAsync(int pid, CancellationTokenSource stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(pid);
                if (p.HasExited) break;
            }
            catch (ArgumentException) { break; } // no such process
            await Task.Delay(500).ConfigureAwait(false);
        }
        stop.Cancel();
    }
}
