using System.Diagnostics;
using System.Net;
using System.Text;
using KmPs.Core.Bundles.Download;
using KmPs.Core;
using KmPs.Tests.Harness;

namespace KmPs.Simulator.Tests.Bundles.Download;

/// <summary>The HTTP download into a partial file, against the simulator's release server on 127.0.0.1.</summary>
public class BundleDownloaderTests
{
    private const string Tag = "v0.6.0";

    private static BundleDownloader Downloader(HttpDownloadOptions? o = null, TimeSpan? readTimeout = null) =>
        new(o ?? new HttpDownloadOptions { NoProxy = true }) { ReadTimeout = readTimeout ?? TimeSpan.FromSeconds(30) };

    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Seen { get; } = new();
        public void Report(DownloadProgress value) { lock (Seen) Seen.Add(value); }
    }

    [Fact]
    public async Task Downloads_the_whole_file_through_the_redirect_with_progress_and_keeps_its_validators()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        var partial = f.Saved("km.orc.partial");
        var progress = new Recorder();
        using var d = Downloader();
        var outcome = await d.DownloadAsync(f.Server.AssetUri(Tag), partial, progress);

        var expected = File.ReadAllBytes(f.Server.AssetPath(Tag));
        Assert.Equal(expected, File.ReadAllBytes(partial));
        Assert.Equal(expected.Length, outcome.Length);
        Assert.Equal(0, outcome.ResumedFrom);
        Assert.False(outcome.Restarted);
        Assert.StartsWith("\"", outcome.ETag);
        Assert.NotNull(outcome.LastModified);
        var state = System.Text.Json.JsonDocument.Parse(File.ReadAllText(BundleDownloader.StatePath(partial))).RootElement;
        Assert.Equal(outcome.ETag, state.GetProperty("etag").GetString());
        Assert.Equal(f.Server.AssetUri(Tag).ToString(), state.GetProperty("uri").GetString());
        // The release link answers 302 to the storage address, which serves the bytes.
        var log = f.Server.Requests;
        Assert.Equal(new[] { 302, 200 }, log.Select(r => r.Status));
        Assert.StartsWith("/storage/", log[1].Path);
        Assert.All(log, r => Assert.StartsWith("OasisKeyManager", r.UserAgent));
        // Progress: the size is known from the start, the last reading is the whole file.
        Assert.All(progress.Seen, p => Assert.Equal(expected.Length, p.Total));
        Assert.Equal(expected.Length, progress.Seen[^1].Received);
        Assert.Equal(100, progress.Seen[^1].Percent);
        Assert.Matches(@"^\d+(\.\d)? KB of \d+(\.\d)? KB, \d+(\.\d{1,2})? [KMG]?B/s$", progress.Seen[^1].ToString()); // GB with 2 decimals
    }

    [Fact]
    public async Task A_cut_connection_keeps_the_partial_and_the_next_call_resumes_it_with_Range_and_If_Range()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        var expected = File.ReadAllBytes(f.Server.AssetPath(Tag));
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();

        var e = await CutDownloadAsync(f, d, partial);
        Assert.Equal(DownloadErrorIds.BundleDownloadInterrupted, e.ErrorId);
        Assert.Contains(partial, e.Message);
        var have = new FileInfo(partial).Length;
        Assert.InRange(have, 1, expected.Length - 1);

        var outcome = await d.DownloadAsync(f.Server.AssetUri(Tag), partial);
        Assert.Equal(expected, File.ReadAllBytes(partial));
        Assert.Equal(have, outcome.ResumedFrom);
        Assert.Equal(expected.Length - have, outcome.Transferred);
        var resumed = f.Server.Requests.Last();
        Assert.Equal(206, resumed.Status);
        Assert.Equal($"bytes={have}-", resumed.Range);
        Assert.Equal(outcome.ETag, resumed.IfRange);
    }

    [Fact]
    public async Task A_server_that_ignores_Range_sends_the_whole_file_and_the_download_starts_again_from_zero()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        var expected = File.ReadAllBytes(f.Server.AssetPath(Tag));
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();
        await CutDownloadAsync(f, d, partial);

        f.Server.HonourRange = false;
        var outcome = await d.DownloadAsync(f.Server.AssetUri(Tag), partial);
        Assert.True(outcome.Restarted);
        Assert.Equal(0, outcome.ResumedFrom);
        Assert.Equal(expected.Length, outcome.Transferred);
        Assert.Equal(expected, File.ReadAllBytes(partial));
        var last = f.Server.Requests.Last();
        Assert.NotNull(last.Range);
        Assert.Equal(200, last.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_file_changed_on_the_server_fails_If_Range_and_is_downloaded_again_whole(bool etag)
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Server.SendETag = etag;
        f.Publish(Tag);
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();
        await CutDownloadAsync(f, d, partial);

        f.Publish(Tag, build: 2); // another build under the same tag
        File.SetLastWriteTimeUtc(f.Server.AssetPath(Tag), DateTime.UtcNow.AddMinutes(5));
        var outcome = await d.DownloadAsync(f.Server.AssetUri(Tag), partial);
        Assert.True(outcome.Restarted);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath(Tag)), File.ReadAllBytes(partial));
        var last = f.Server.Requests.Last();
        Assert.Equal(200, last.Status);
        if (etag) Assert.StartsWith("\"", last.IfRange);
        else Assert.EndsWith("GMT", last.IfRange); // Last-Modified, the validator left without an ETag
    }

    [Fact]
    public async Task A_complete_partial_file_is_recognised_by_416_without_a_body()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();
        var first = await d.DownloadAsync(f.Server.AssetUri(Tag), partial);
        var again = await d.DownloadAsync(f.Server.AssetUri(Tag), partial);
        Assert.Equal(first.Length, again.Length);
        Assert.Equal(first.Length, again.ResumedFrom);
        Assert.Equal(416, f.Server.Requests.Last().Status);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath(Tag)), File.ReadAllBytes(partial));
    }

    [Fact]
    public async Task A_partial_of_another_address_is_not_continued()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        f.Publish("v0.6.0-testnet", KmRelease.TestnetRuntimeId);
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();
        await CutDownloadAsync(f, d, partial);
        var outcome = await d.DownloadAsync(f.Server.AssetUri("v0.6.0-testnet"), partial);
        Assert.Equal(0, outcome.ResumedFrom);
        Assert.Null(f.Server.Requests.Last().Range);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0-testnet")), File.ReadAllBytes(partial));
    }

    [Fact]
    public async Task Not_found_names_the_address_and_status_and_leaves_no_file()
    {
        await using var f = await ReleaseFixture.StartAsync();
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();
        var uri = f.Server.AssetUri("v9.9.9");
        var e = await Assert.ThrowsAsync<KmException>(() => d.DownloadAsync(uri, partial));
        Assert.Equal(DownloadErrorIds.BundleDownloadFailed, e.ErrorId);
        Assert.Equal(KmErrorCategory.ObjectNotFound, e.Category);
        Assert.Contains(uri.ToString(), e.Message);
        Assert.Contains("HTTP 404", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Fact]
    public async Task An_unreachable_server_is_BundleDownloadFailed()
    {
        await using var f = await ReleaseFixture.StartAsync();
        var port = f.Server.Port;
        await f.Server.DisposeAsync();
        using var d = Downloader();
        var e = await Assert.ThrowsAsync<KmException>(() => d.DownloadAsync(new Uri($"http://127.0.0.1:{port}/x.orc"), f.Saved("x.partial")));
        Assert.Equal(DownloadErrorIds.BundleDownloadFailed, e.ErrorId);
        Assert.Equal(KmErrorCategory.ConnectionError, e.Category);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Fact]
    public async Task Cancellation_stops_a_slow_download_at_once_and_keeps_the_partial()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        f.Server.BytesPerSecond = 20_000; // 13 s for the file
        var partial = f.Saved("km.orc.partial");
        var progress = new Recorder();
        using var d = Downloader();
        using var cts = new CancellationTokenSource();
        var task = d.DownloadAsync(f.Server.AssetUri(Tag), partial, progress, cts.Token);
        await WaitUntil(() => new FileInfo(partial) is { Exists: true, Length: > 5000 });
        var clock = Stopwatch.StartNew();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"stopped after {clock.Elapsed}");
        Assert.InRange(new FileInfo(partial).Length, 5000, File.ReadAllBytes(f.Server.AssetPath(Tag)).Length - 1);
        Assert.True(File.Exists(BundleDownloader.StatePath(partial)));
        // A rate was measured on the way.
        Assert.Contains(progress.Seen, p => p.BytesPerSecond > 0);
    }

    [Fact]
    public async Task A_stalled_server_is_an_interruption_after_the_read_timeout()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        f.Server.StallAfter = 50_000;
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader(readTimeout: TimeSpan.FromMilliseconds(700));
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<KmException>(() => d.DownloadAsync(f.Server.AssetUri(Tag), partial));
        Assert.Equal(DownloadErrorIds.BundleDownloadInterrupted, e.ErrorId);
        Assert.Contains("stalled", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Equal(50_000, new FileInfo(partial).Length);
    }

    [Fact]
    public async Task Two_downloads_to_one_partial_file_do_not_mix()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        f.Server.BytesPerSecond = 50_000;
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader();
        using var cts = new CancellationTokenSource();
        var first = d.DownloadAsync(f.Server.AssetUri(Tag), partial, null, cts.Token);
        await WaitUntil(() => File.Exists(partial));
        var e = await Assert.ThrowsAsync<KmException>(() => d.DownloadAsync(f.Server.AssetUri(Tag), partial));
        Assert.Equal(DownloadErrorIds.BundleDownloadInProgress, e.ErrorId);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    [Fact]
    public async Task A_body_larger_than_any_bundle_is_stopped()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        using var d = new BundleDownloader(new HttpDownloadOptions { NoProxy = true }) { MaxBytes = 10_000 };
        var e = await Assert.ThrowsAsync<KmException>(() => d.DownloadAsync(f.Server.AssetUri(Tag), f.Saved("km.orc.partial")));
        Assert.Equal(DownloadErrorIds.BundleDownloadTooLarge, e.ErrorId);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Fact]
    public async Task The_proxy_and_its_credentials_are_used_for_a_host_only_the_proxy_can_reach()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        f.Server.ProxyCredential = "alice:s3cret";
        var partial = f.Saved("km.orc.partial");
        using var d = Downloader(new HttpDownloadOptions { Proxy = f.Server.ProxyUri, ProxyCredential = new NetworkCredential("alice", "s3cret") });
        var uri = new Uri("http://releases.invalid/releases/download/v0.6.0/keymanager.orc");
        await d.DownloadAsync(uri, partial);

        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath(Tag)), File.ReadAllBytes(partial));
        var log = f.Server.Requests;
        // The proxy saw the absolute-form target, challenged once (407), then got the credentials.
        Assert.Equal(uri.ToString(), log[0].RawTarget);
        Assert.Equal(407, log[0].Status);
        Assert.Null(log[0].ProxyAuthorization);
        var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:s3cret"));
        Assert.All(log.Skip(1), r => Assert.Equal(basic, r.ProxyAuthorization));
        Assert.All(log, r => Assert.StartsWith("http://releases.invalid/", r.RawTarget));
        Assert.Equal(200, log[^1].Status);
    }

    [Fact]
    public async Task Server_credentials_answer_the_401_challenge()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish(Tag);
        f.Server.Credential = "bob:pw";
        // HttpClient (and so Invoke-WebRequest) sends a plain NetworkCredential only to the address asked, never after a redirect.
        f.Server.Redirect = false;
        using (var without = Downloader())
        {
            var e = await Assert.ThrowsAsync<KmException>(() => without.DownloadAsync(f.Server.AssetUri(Tag), f.Saved("a.partial")));
            Assert.Contains("HTTP 401", e.Message);
        }
        using var d = Downloader(new HttpDownloadOptions { NoProxy = true, Credential = new NetworkCredential("bob", "pw") });
        await d.DownloadAsync(f.Server.AssetUri(Tag), f.Saved("b.partial"));
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath(Tag)), File.ReadAllBytes(f.Saved("b.partial")));
        Assert.Contains(f.Server.Requests, r => r.Authorization == "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:pw")));
    }

    /// <summary>A download of <paramref name="tag"/> whose connection the server cuts after 100 000 bytes.</summary>
    private static async Task<KmException> CutDownloadAsync(ReleaseFixture f, BundleDownloader d, string partial, string tag = Tag)
    {
        f.Server.CutNext(100_000);
        return await Assert.ThrowsAsync<KmException>(() => d.DownloadAsync(f.Server.AssetUri(tag), partial));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not reached");
            await Task.Delay(20);
        }
    }
}
