namespace KmPs.Simulator.Releases;

/// <summary><c>serve-releases</c>: the release server in its own process, for the Pester suite and rehearsals.</summary>
public static class ReleaseServerCli
{
    public const string Usage = """
          serve-releases --dir DIR [--port N] [--url-file FILE] [--log FILE] [--bytes-per-sec N] [--cut-after N] [--no-range]
              Serve DIR/<tag>/keymanager.orc as GitHub serves release assets, at
              http://127.0.0.1:PORT/releases/download/<tag>/keymanager.orc (the -BaseUri of Save-KmRuntimeBundle).
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
        try { await Task.Delay(Timeout.Infinite, stop); }
        catch (OperationCanceledException) { }
        return 0;
    }
}
