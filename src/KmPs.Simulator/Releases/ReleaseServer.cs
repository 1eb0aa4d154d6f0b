using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace KmPs.Simulator.Releases;

/// <summary>One request the release server saw, for the tests to assert on.</summary>
public sealed record ReleaseRequest(
    string Method, string RawTarget, string Path, string? Host, string? Range, string? IfRange,
    string? Authorization, string? ProxyAuthorization, string? UserAgent, int Status);

/// <summary>
/// A stand-in for GitHub's release downloads of oasisprotocol/keymanager-paratime, serving
/// <c>&lt;root&gt;/&lt;tag&gt;/&lt;file&gt;</c> at <c>/releases/download/&lt;tag&gt;/&lt;file&gt;</c> on 127.0.0.1.
/// Like github.com, the release link answers 302 to a storage address (<c>/storage/...</c>, on
/// objects.githubusercontent.com there) that serves the bytes with a strong ETag and Last-Modified,
/// honours <c>Range: bytes=N-</c> with 206 and Content-Range, and If-Range (a changed file gets a
/// 200). Faults for the tests: ignore Range, cut the connection after some bytes, send slowly,
/// require Basic credentials, and act as an HTTP proxy (absolute-form request targets, optional
/// Basic proxy credentials with a 407 challenge) that answers for any host. Every request is logged.
/// </summary>
public sealed class ReleaseServer : IAsyncDisposable
{
    public const string DownloadPath = "/releases/download/";
    public const string StoragePath = "/storage/";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReleaseRequest> _log = new();
    private int _cuts;

    public string Root { get; }
    public int Port { get; }
    /// <summary>The -BaseUri of this server: http://127.0.0.1:port/releases/download/.</summary>
    public Uri BaseUri => new($"http://127.0.0.1:{Port}{DownloadPath}");
    /// <summary>This server as an HTTP proxy.</summary>
    public Uri ProxyUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>Answer Range requests with 206 (true) or ignore them and send the whole file with 200.</summary>
    public bool HonourRange { get; set; } = true;
    /// <summary>Send ETag headers (strong, from the file's SHA-256).</summary>
    public bool SendETag { get; set; } = true;
    public bool SendLastModified { get; set; } = true;
    /// <summary>The release link redirects to the storage address, as github.com does.</summary>
    public bool Redirect { get; set; } = true;
    /// <summary>Bytes per second of a body; 0: as fast as possible.</summary>
    public long BytesPerSecond { get; set; }
    /// <summary>The next <see cref="Cuts"/> bodies are cut (the connection dropped) after this many bytes.</summary>
    public long CutAfter { get; set; }
    public int Cuts { get => _cuts; set => _cuts = value; }

    /// <summary>Cuts the next <paramref name="times"/> bodies after <paramref name="afterBytes"/> bytes.</summary>
    public void CutNext(long afterBytes, int times = 1)
    {
        CutAfter = afterBytes;
        Cuts = times;
    }
    /// <summary>After this many bytes of a body the server sends nothing more and keeps the connection open (a stall); 0: never.</summary>
    public long StallAfter { get; set; }
    /// <summary>"user:password" that Basic server authentication must give (401 challenge otherwise); null: none.</summary>
    public string? Credential { get; set; }
    /// <summary>"user:password" that a proxied request must give in Proxy-Authorization (407 challenge otherwise); null: none.</summary>
    public string? ProxyCredential { get; set; }
    /// <summary>Serve absolute-form requests (a client using this server as its proxy) for any host.</summary>
    public bool ActAsProxy { get; set; } = true;
    /// <summary>A JSON-lines file every request is appended to (for tests in other processes); null: memory only.</summary>
    public string? LogFile { get; set; }

    public IReadOnlyList<ReleaseRequest> Requests => _log.ToArray();

    private ReleaseServer(WebApplication app, string root, int port)
    {
        _app = app;
        Root = root;
        Port = port;
    }

    /// <summary>Starts on 127.0.0.1 and a free port (or <paramref name="port"/>).</summary>
    public static async Task<ReleaseServer> StartAsync(string root, int port = 0, CancellationToken ct = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        ReleaseServer? self = null;
        app.Run(ctx => self!.HandleAsync(ctx));
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        self = new ReleaseServer(app, Path.GetFullPath(root), new Uri(address).Port);
        return self;
    }

    /// <summary>Where a tag's asset lives on disk (the folder is created).</summary>
    public string AssetPath(string tag, string file = "keymanager.orc")
    {
        var dir = Path.Combine(Root, tag);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, file);
    }

    public Uri AssetUri(string tag, string file = "keymanager.orc") => new(BaseUri, $"{tag}/{file}");

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget ?? req.Path.Value ?? "";
        var proxied = raw.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
        // Logged as the headers go out: a client that has read the whole body finds its request in the log.
        var recorded = 0;
        void Log()
        {
            if (Interlocked.Exchange(ref recorded, 1) == 1) return;
            Record(new ReleaseRequest(req.Method, raw, req.Path.Value ?? "", req.Headers.Host.ToString(), Header(req.Headers.Range),
                Header(req.Headers.IfRange), Header(req.Headers.Authorization), Header(req.Headers.ProxyAuthorization),
                Header(req.Headers.UserAgent), ctx.Response.StatusCode));
        }
        ctx.Response.OnStarting(() => { Log(); return Task.CompletedTask; });
        try
        {
            if (proxied && !ActAsProxy) { ctx.Response.StatusCode = 400; return; }
            if (proxied && ProxyCredential is not null && !Authorized(req.Headers.ProxyAuthorization, ProxyCredential))
            {
                ctx.Response.StatusCode = 407;
                ctx.Response.Headers.ProxyAuthenticate = "Basic realm=\"test proxy\"";
                return;
            }
            if (Credential is not null && !Authorized(req.Headers.Authorization, Credential))
            {
                ctx.Response.StatusCode = 401;
                ctx.Response.Headers.WWWAuthenticate = "Basic realm=\"releases\"";
                return;
            }
            var path = req.Path.Value ?? "";
            if (!HttpMethods.IsGet(req.Method) && !HttpMethods.IsHead(req.Method)) { ctx.Response.StatusCode = 405; return; }
            if (path.StartsWith(DownloadPath, StringComparison.Ordinal) && Redirect)
            {
                ctx.Response.StatusCode = 302;
                ctx.Response.Headers.Location = StoragePath + path[DownloadPath.Length..];
                return;
            }
            var relative = path.StartsWith(DownloadPath, StringComparison.Ordinal) ? path[DownloadPath.Length..]
                : path.StartsWith(StoragePath, StringComparison.Ordinal) ? path[StoragePath.Length..] : null;
            var file = relative is null ? null : Path.GetFullPath(Path.Combine(Root, Uri.UnescapeDataString(relative)));
            if (file is null || !file.StartsWith(Root + "/", StringComparison.Ordinal) || !File.Exists(file))
            {
                ctx.Response.StatusCode = 404;
                await ctx.Response.WriteAsync("Not Found").ConfigureAwait(false);
                return;
            }
            await ServeAsync(ctx, file).ConfigureAwait(false);
        }
        finally
        {
            Log();
        }
    }

    private async Task ServeAsync(HttpContext ctx, string file)
    {
        var bytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
        var etag = "\"" + Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant() + "\"";
        var modified = new DateTimeOffset(File.GetLastWriteTimeUtc(file)).ToString("R");
        var res = ctx.Response;
        if (SendETag) res.Headers.ETag = etag;
        if (SendLastModified) res.Headers.LastModified = modified;
        res.Headers.AcceptRanges = HonourRange ? "bytes" : "none";
        res.ContentType = "application/octet-stream";
        long from = 0;
        var range = Header(ctx.Request.Headers.Range);
        var ifRange = Header(ctx.Request.Headers.IfRange);
        // If-Range: the range only if the validator is the current one (RFC 9110 13.1.5), else the whole file.
        var current = ifRange is null || (SendETag && ifRange == etag) || (SendLastModified && ifRange == modified);
        if (HonourRange && current && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal)
            && long.TryParse(range[6..].Split('-')[0], out var start))
        {
            if (start >= bytes.Length)
            {
                res.StatusCode = 416;
                res.Headers.ContentRange = $"bytes */{bytes.Length}";
                return;
            }
            from = start;
            res.StatusCode = 206;
            res.Headers.ContentRange = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }
        res.ContentLength = bytes.Length - from;
        if (HttpMethods.IsHead(ctx.Request.Method)) return;
        await SendAsync(ctx, bytes, from).ConfigureAwait(false);
    }

    private async Task SendAsync(HttpContext ctx, byte[] bytes, long from)
    {
        var cut = CutAfter > 0 && Interlocked.Decrement(ref _cuts) >= 0 ? CutAfter : long.MaxValue;
        var stall = StallAfter > 0 ? StallAfter : long.MaxValue;
        var bps = BytesPerSecond;
        var chunk = bps > 0 ? (int)Math.Max(1, bps / 20) : 64 * 1024;
        var ct = ctx.RequestAborted;
        long sent = 0;
        try
        {
            for (var at = from; at < bytes.Length;)
            {
                if (sent >= stall)
                {
                    await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                var n = (int)Math.Min(chunk, Math.Min(bytes.Length - at, Math.Min(cut, stall) - sent));
                await ctx.Response.Body.WriteAsync(bytes.AsMemory((int)at, n), ct).ConfigureAwait(false);
                at += n;
                sent += n;
                if (sent >= cut)
                {
                    await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                    await Task.Delay(100, ct).ConfigureAwait(false); // let the bytes leave before the connection drops
                    ctx.Abort();
                    return;
                }
                if (bps > 0)
                {
                    await ctx.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                    await Task.Delay(50, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) { /* the client went away */ }
        catch (IOException) { }
    }

    private static bool Authorized(string? header, string credential) =>
        header is not null && header.StartsWith("Basic ", StringComparison.Ordinal)
        && header[6..].Trim() == Convert.ToBase64String(Encoding.UTF8.GetBytes(credential));

    private static string? Header(Microsoft.Extensions.Primitives.StringValues v) => v.Count == 0 ? null : v.ToString();

    private void Record(ReleaseRequest r)
    {
        _log.Enqueue(r);
        if (LogFile is { } f)
            lock (_log) File.AppendAllText(f, JsonSerializer.Serialize(r) + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); }
        finally { await _app.DisposeAsync().ConfigureAwait(false); }
    }
}
