using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace KmPs.Core.Bundles.Download;

/// <summary>How far a download is: bytes in the partial file, the whole size if the server said it, the rate.</summary>
public sealed record DownloadProgress(long Received, long? Total, double BytesPerSecond, TimeSpan Elapsed, long ResumedFrom)
{
    public int? Percent => Total is > 0 ? (int)Math.Min(100, 100 * Received / Total.Value) : null;

    /// <summary>At the current rate; null while the rate or the size is unknown.</summary>
    public TimeSpan? Remaining => Total is { } t && BytesPerSecond > 0 ? TimeSpan.FromSeconds((t - Received) / BytesPerSecond) : null;

    /// <summary>"1.2 MB of 4.0 MB, 350 KB/s": what the progress bar says.</summary>
    public override string ToString() =>
        $"{Bytes(Received)} of {(Total is { } t ? Bytes(t) : "?")}, {Bytes((long)BytesPerSecond)}/s" +
        (ResumedFrom > 0 ? $" (resumed at {Bytes(ResumedFrom)})" : "");

    public static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => $"{n / 1024.0:0.0} KB",
        < 1024L * 1024 * 1024 => $"{n / (1024.0 * 1024):0.0} MB",
        _ => $"{n / (1024.0 * 1024 * 1024):0.00} GB",
    };
}

/// <summary>What a finished download did.</summary>
public sealed record DownloadOutcome
{
    public required Uri Uri { get; init; }
    public long Length { get; init; }
    /// <summary>Bytes the partial file already had and the server's 206 continued from; 0 for a whole download.</summary>
    public long ResumedFrom { get; init; }
    /// <summary>A partial file was there but the server sent the whole file (200, or a Range it did not honour): it started again from zero.</summary>
    public bool Restarted { get; init; }
    /// <summary>Bytes received in this call.</summary>
    public long Transferred { get; init; }
    public string? ETag { get; init; }
    public string? LastModified { get; init; }
}

/// <summary>The HTTP settings of a download, as Invoke-WebRequest names them.</summary>
public sealed record HttpDownloadOptions
{
    public Uri? Proxy { get; init; }
    public ICredentials? ProxyCredential { get; init; }
    public bool ProxyUseDefaultCredentials { get; init; }
    /// <summary>No proxy at all, not even the environment's (HTTPS_PROXY, ...).</summary>
    public bool NoProxy { get; init; }
    /// <summary>Server credentials, sent when the server asks (401 challenge).</summary>
    public ICredentials? Credential { get; init; }
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public string UserAgent { get; init; } = "OasisKeyManager";
}

/// <summary>
/// Downloads one file over HTTP into a partial file, resuming it when the server allows: a Range
/// request from the partial's length, with If-Range (the strong ETag, else Last-Modified, that the
/// first response had) so a file changed on the server is never continued with other bytes. A 206
/// is used only when its Content-Range starts where the partial ends; a 200 (the server ignores
/// Range, or the file changed) starts again from zero; a 416 for a partial of the whole size means
/// it is complete. The partial file is never renamed here: its owner verifies it first. A cut
/// connection, a stall (no byte for <see cref="ReadTimeout"/>) and a cancellation keep the partial
/// for the next call. The partial is locked (FileShare.None) while written, so two downloads to
/// one place do not mix. Its validators live beside it in <c>&lt;partial&gt;.json</c>.
/// </summary>
public sealed class BundleDownloader : IDisposable
{
    /// <summary>No key manager bundle comes near this; a server streaming more is stopped.</summary>
    public const long DefaultMaxBytes = 1L << 30;

    private readonly HttpClient _http;

    /// <summary>The longest wait for response headers or for the next bytes of the body.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(200);
    public long MaxBytes { get; init; } = DefaultMaxBytes;

    public BundleDownloader(HttpMessageHandler handler, bool disposeHandler = true, string userAgent = "OasisKeyManager")
    {
        _http = new HttpClient(handler, disposeHandler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(userAgent);
    }

    public BundleDownloader(HttpDownloadOptions options) : this(CreateHandler(options), true, options.UserAgent) { }

    /// <summary>HttpClient's handler for the options: redirects followed (GitHub's release links redirect to its storage), no decompression (Range counts raw bytes).</summary>
    public static SocketsHttpHandler CreateHandler(HttpDownloadOptions o)
    {
        var h = new SocketsHttpHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = o.ConnectTimeout,
        };
        var proxyCredential = o.ProxyUseDefaultCredentials ? CredentialCache.DefaultCredentials : o.ProxyCredential;
        if (o.NoProxy) h.UseProxy = false;
        else if (o.Proxy is not null) { h.UseProxy = true; h.Proxy = new WebProxy(o.Proxy) { Credentials = proxyCredential }; }
        else if (proxyCredential is not null) h.DefaultProxyCredentials = proxyCredential;
        if (o.Credential is not null) h.Credentials = o.Credential;
        return h;
    }

    public static string PartialPath(string destination) => destination + ".partial";
    public static string StatePath(string partial) => partial + ".json";

    /// <summary>Removes a partial file and its validators.</summary>
    public static void Discard(string partial)
    {
        File.Delete(partial);
        File.Delete(StatePath(partial));
    }

    /// <summary>Downloads <paramref name="uri"/> into <paramref name="partial"/>, continuing what is there when possible.</summary>
    /// <exception cref="KmException">BundleDownloadFailed, BundleDownloadInterrupted, BundleDownloadTooLarge, BundleDownloadInProgress.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the partial file is kept.</exception>
    public async Task<DownloadOutcome> DownloadAsync(Uri uri, string partial, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        var file = OpenPartial(partial);
        try
        {
            var outcome = await DownloadAsync(uri, partial, file, progress, ct).ConfigureAwait(false);
            await file.DisposeAsync().ConfigureAwait(false);
            return outcome;
        }
        catch
        {
            var empty = file.Length == 0;
            await file.DisposeAsync().ConfigureAwait(false);
            // A failure before the first byte (404, unreachable, cancelled at once) leaves no empty partial file behind.
            if (empty) Discard(partial);
            throw;
        }
    }

    private async Task<DownloadOutcome> DownloadAsync(Uri uri, string partial, FileStream file, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        var state = PartialState.Load(partial);
        long have = file.Length;
        if (have > 0 && (state is null || state.Uri != uri.ToString()))
        {
            // Bytes of another address (or of unknown origin) are never continued.
            file.SetLength(0);
            have = 0;
        }
        var restarted = false;
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.ParseAdd("application/octet-stream");
            if (have > 0) AskToResume(request, have, state!);
            using var response = await SendAsync(request, uri, ct).ConfigureAwait(false);
            var total = response.Content.Headers.ContentLength;
            long resumedFrom = 0;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            {
                // bytes=<length>- of a file of that length: the partial is the whole file (and If-Range held, or we would have had a 200).
                if (response.Content.Headers.ContentRange?.Length == have)
                    return new DownloadOutcome { Uri = uri, Length = have, ResumedFrom = have, ETag = state!.ETag, LastModified = state.LastModified };
                Restart();
                continue;
            }
            if (!response.IsSuccessStatusCode)
                throw DownloadErrors.HttpStatus(uri, (int)response.StatusCode, response.ReasonPhrase, response.RequestMessage?.RequestUri);
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                var range = response.Content.Headers.ContentRange;
                if (have == 0 || range is not { HasRange: true, Unit: "bytes" } || range.From != have)
                {
                    // Not the continuation asked for: ask for the whole file (attempts are bounded, a broken server cannot loop us).
                    if (attempt >= 2) throw DownloadErrors.HttpStatus(uri, 206, $"with Content-Range '{range}' for bytes={have}-");
                    Restart();
                    continue;
                }
                resumedFrom = have;
                total = range.Length;
            }
            else if (have > 0)
            {
                // 200: the server ignores Range, or If-Range found the file changed. Start again from zero.
                file.SetLength(0);
                have = 0;
                restarted = true;
            }
            if (total > MaxBytes) { file.SetLength(0); throw DownloadErrors.TooLarge(uri, MaxBytes); }
            state = new PartialState(uri.ToString(), StrongETag(response), LastModifiedOf(response), total);
            state.Save(partial);
            var received = await CopyBodyAsync(response, file, have, total, uri, partial, progress, ct).ConfigureAwait(false);
            return new DownloadOutcome
            {
                Uri = uri, Length = file.Length, ResumedFrom = resumedFrom, Restarted = restarted, Transferred = received,
                ETag = state.ETag, LastModified = state.LastModified,
            };
        }

        void Restart()
        {
            file.SetLength(0);
            have = 0;
            restarted = true;
        }
    }

    private static void AskToResume(HttpRequestMessage request, long have, PartialState state)
    {
        request.Headers.Range = new RangeHeaderValue(have, null);
        // If-Range takes a strong validator (RFC 9110 13.1.5): the strong ETag, else the Last-Modified date.
        if (state.ETag is { } etag) request.Headers.IfRange = new RangeConditionHeaderValue(EntityTagHeaderValue.Parse(etag));
        else if (state.LastModified is { } lm && DateTimeOffset.TryParse(lm, System.Globalization.CultureInfo.InvariantCulture,
                     System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            request.Headers.IfRange = new RangeConditionHeaderValue(date);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Uri uri, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw DownloadErrors.Unreachable(uri, new TimeoutException($"no answer in {ReadTimeout.TotalSeconds:0} s", e));
        }
        catch (HttpRequestException e)
        {
            throw DownloadErrors.Unreachable(uri, e);
        }
    }

    private async Task<long> CopyBodyAsync(HttpResponseMessage response, FileStream file, long have, long? total, Uri uri, string partial,
        IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        file.Position = have;
        var rate = new Rate();
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.MinValue;
        long received = 0;
        void Report(bool force)
        {
            if (progress is null || (!force && clock.Elapsed - lastReport < ProgressInterval)) return;
            lastReport = clock.Elapsed;
            progress.Report(new DownloadProgress(have + received, total, rate.PerSecond(clock.Elapsed, received), clock.Elapsed, have));
        }
        Report(true);
        Stream body;
        try { body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw DownloadErrors.Interrupted(uri, partial, have, total, e, "was cut");
        }
        await using (body.ConfigureAwait(false))
        {
            var buffer = new byte[81920];
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
            while (true)
            {
                int n;
                stall.CancelAfter(ReadTimeout);
                try { n = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false); }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    throw DownloadErrors.Interrupted(uri, partial, have + received, total, e, $"stalled (no data for {ReadTimeout.TotalSeconds:0} s)");
                }
                catch (Exception e) when (e is IOException or HttpRequestException)
                {
                    await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    throw DownloadErrors.Interrupted(uri, partial, have + received, total, e, "was cut");
                }
                if (n == 0) break;
                if (have + received + n > MaxBytes)
                {
                    file.SetLength(0);
                    throw DownloadErrors.TooLarge(uri, MaxBytes);
                }
                // Not cancellable: a write half done when Ctrl+C comes would leave the partial shorter than what was counted.
                await file.WriteAsync(buffer.AsMemory(0, n), CancellationToken.None).ConfigureAwait(false);
                received += n;
                rate.Add(clock.Elapsed, received);
                Report(false);
            }
        }
        await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        if (total is { } t && have + received != t)
            throw DownloadErrors.Interrupted(uri, partial, have + received, total, null, "ended early");
        Report(true);
        return received;
    }

    private static FileStream OpenPartial(string partial)
    {
        try
        {
            return new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        }
        catch (UnauthorizedAccessException e)
        {
            throw DownloadErrors.DestinationInvalid(partial, "this user cannot write there (" + e.Message + ")");
        }
        catch (DirectoryNotFoundException)
        {
            throw DownloadErrors.DestinationInvalid(partial, "its folder does not exist");
        }
        catch (IOException e) when (File.Exists(partial))
        {
            throw DownloadErrors.InProgress(partial, e);
        }
    }

    private static string? StrongETag(HttpResponseMessage r) => r.Headers.ETag is { IsWeak: false } e ? e.ToString() : null;

    private static string? LastModifiedOf(HttpResponseMessage r) => r.Content.Headers.LastModified?.ToString("R");

    public void Dispose() => _http.Dispose();

    /// <summary>Bytes per second over the last two seconds.</summary>
    private sealed class Rate
    {
        private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);
        private readonly Queue<(TimeSpan At, long Bytes)> _samples = new();

        public void Add(TimeSpan at, long bytes)
        {
            _samples.Enqueue((at, bytes));
            while (_samples.Count > 2 && at - _samples.Peek().At > Window) _samples.Dequeue();
        }

        public double PerSecond(TimeSpan now, long bytes)
        {
            if (_samples.Count == 0) return 0;
            var (at, b) = _samples.Peek();
            if (_samples.Count == 1) { at = TimeSpan.Zero; b = 0; }
            var seconds = (now - at).TotalSeconds;
            return seconds > 0 ? (bytes - b) / seconds : 0;
        }
    }

    /// <summary>What a partial file is a part of: its address and the validators its first response had.</summary>
    internal sealed record PartialState(string Uri, [property: JsonPropertyName("etag")] string? ETag, string? LastModified, long? Length)
    {
        private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

        public static PartialState? Load(string partial)
        {
            try { return JsonSerializer.Deserialize<PartialState>(File.ReadAllText(StatePath(partial)), Json); }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
        }

        public void Save(string partial) => File.WriteAllText(StatePath(partial), JsonSerializer.Serialize(this, Json));
    }
}
