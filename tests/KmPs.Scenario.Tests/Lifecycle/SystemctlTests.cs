using System.Diagnostics;
using KmPs.Core.Lifecycle;
using KmPs.Core;
using KmPs.Tests.Support;

namespace KmPs.Scenario.Tests.Lifecycle;

/// <summary>The systemctl runner against a stand-in executable that records its arguments.</summary>
public class SystemctlTests : IDisposable
{
    private readonly TempDir _dir = new();
    private string Args => File.ReadAllText(_dir.File("args")).Trim();

    private string Fake(string body)
    {
        var path = _dir.File("systemctl");
        File.WriteAllText(path, $"#!/bin/sh\necho \"$@\" > '{_dir.File("args")}'\n{body}\n");
        UnixModes.SetMode(path, "755");
        return path;
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Runs_the_verb_on_the_unit_without_asking_for_a_password()
    {
        await Systemctl.RunAsync("stop", "oasis-node.service", TimeSpan.FromSeconds(10), CancellationToken.None, Fake("exit 0"));
        Assert.Equal("--no-ask-password stop oasis-node.service", Args);
    }

    [Fact]
    public async Task A_chatty_systemctl_does_not_block_on_a_full_output_pipe()
    {
        // 1 MB on each stream: far past a pipe's buffer, which blocks the writer if nobody reads.
        var fake = Fake("head -c 1048576 /dev/zero | tr '\\0' x; head -c 1048576 /dev/zero | tr '\\0' y >&2; exit 0");
        await Systemctl.RunAsync("start", "u.service", TimeSpan.FromSeconds(20), CancellationToken.None, fake);
    }

    [Fact]
    public async Task Failure_reports_the_exit_code_and_what_systemctl_said()
    {
        var fake = Fake("echo 'Failed to stop oasis-node.service: Access denied' >&2; exit 4");
        var e = await Assert.ThrowsAsync<KmException>(() => Systemctl.RunAsync("stop", "oasis-node.service", TimeSpan.FromSeconds(10), CancellationToken.None, fake));
        Assert.Equal("SystemctlFailed", e.ErrorId);
        Assert.Contains("failed (4): Failed to stop oasis-node.service: Access denied", e.Message);
        Assert.Contains("sudo or polkit rule", e.RecommendedAction);
    }

    [Fact]
    public async Task Timeout_kills_systemctl_and_says_so()
    {
        var fake = Fake("sleep 30");
        var sw = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<KmException>(() => Systemctl.RunAsync("start", "u.service", TimeSpan.FromMilliseconds(500), CancellationToken.None, fake));
        Assert.Equal("SystemctlTimeout", e.ErrorId);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Cancellation_stops_the_wait_at_once()
    {
        var fake = Fake("sleep 30");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Systemctl.RunAsync("stop", "u.service", TimeSpan.FromSeconds(60), cts.Token, fake));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public async Task Missing_systemctl_is_a_clear_error()
    {
        var e = await Assert.ThrowsAsync<KmException>(() => Systemctl.RunAsync("stop", "u.service", TimeSpan.FromSeconds(5), CancellationToken.None, _dir.File("no-such-systemctl")));
        Assert.Equal("SystemctlUnavailable", e.ErrorId);
    }

    [Fact]
    public async Task Only_stop_and_start_are_run()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Systemctl.RunAsync("disable", "u.service", TimeSpan.FromSeconds(5), CancellationToken.None, Fake("exit 0")));
        Assert.False(File.Exists(_dir.File("args")));
    }
}
