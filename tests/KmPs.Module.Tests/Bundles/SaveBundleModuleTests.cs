using System.Management.Automation;
using KmPs.Core.Bundles;
using KmPs.Core.Bundles.Download;
using KmPs.Simulator.Shapes;
using KmPs.Core.Status;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Bundles;

/// <summary>Save-KmRuntimeBundle in the hosted engine, against the release server and snapshot nodes.</summary>
public class SaveBundleModuleTests
{
    private const string Cmd = "KmPs.Cmdlets.SaveKmRuntimeBundleCommand";

    /// <summary>A ready node of <paramref name="runtimeId"/>'s network whose registry has these deployments.</summary>
    private static Task<SnapshotNode> Node(string runtimeId, params string[] versions)
    {
        var s = Statuses.Ready(SchemaGeneration.V24);
        s.KmRuntimeId = runtimeId;
        s.Deployments = versions.Select((v, i) => new SimDeployment { Version = v, ValidFrom = 10 + 100 * (ulong)i }).ToArray();
        return SnapshotNode.StartAsync(s);
    }

    private static SavedKmBundle Saved(PsResult r) => r.Single<SavedKmBundle>();

    [Fact]
    public async Task Against_a_node_the_bundle_matches_a_deployment_with_progress_and_no_warning()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        await using var n = await Node(KmRelease.MainnetRuntimeId, "0.5.0", "0.6.0");
        using var ps = new PsEngine();
        var r = ps.Run($"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}' -Socket '{n.Address}' -Verbose").AssertClean();

        var saved = Saved(r);
        Assert.Equal(f.Saved("keymanager-0.6.0.orc"), saved.Path);
        Assert.True(saved.DeploymentVerified);
        Assert.Equal(110UL, saved.ValidFrom);
        Assert.Equal(n.Address, saved.Node);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0")), File.ReadAllBytes(saved.Path));
        Assert.Empty(r.Warnings);
        Assert.Contains(r.Verbose, v => v.Message.Contains("GET " + f.Server.AssetUri("v0.6.0")));
        // Progress: bytes of the size and a rate, under one activity, then completed.
        var bars = r.Progress.Where(p => p.ActivityId == 12).ToList();
        Assert.All(bars, p => Assert.Equal("Downloading keymanager-0.6.0.orc", p.Activity));
        Assert.Contains(bars, p => p.RecordType == ProgressRecordType.Processing && p.StatusDescription.Contains(" of ") && p.StatusDescription.EndsWith("/s"));
        Assert.Equal(ProgressRecordType.Completed, bars[^1].RecordType);
        Assert.Equal(new[] { "keymanager-0.6.0.orc" }, Directory.GetFileSystemEntries(f.Out).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Without_a_node_a_warning_and_the_output_say_only_the_digests_were_verified()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0-testnet", KmRelease.TestnetRuntimeId);
        using var ps = new PsEngine();
        var r = ps.Run($"Set-Location '{f.Out}'; Save-KmRuntimeBundle 0.6.0-testnet -BaseUri '{f.Server.BaseUri}'").AssertClean();
        var saved = Saved(r);
        Assert.Equal(f.Saved("keymanager-0.6.0-testnet.orc"), saved.Path);
        Assert.Equal(KmNetwork.Testnet, saved.Network);
        Assert.Equal("v0.6.0-testnet", saved.Tag);
        Assert.Equal("bundle digests only", saved.VerifiedAgainst);
        Assert.False(saved.DeploymentVerified);
        Assert.Contains("Only the bundle's own digests were verified", Assert.Single(r.Warnings).Message);
    }

    [Fact]
    public async Task WhatIf_downloads_nothing_and_writes_nothing()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        File.WriteAllText(f.Saved("keymanager-0.6.0.orc"), "an older file");
        var before = f.OutHash();
        var host = new RecordingHost();
        using var ps = new PsEngine(host);
        var r = ps.Run($"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}' -Force -WhatIf").AssertClean();
        Assert.Empty(r.Output);
        Assert.Equal(before, f.OutHash());
        Assert.Empty(f.Server.Requests);
        var said = host.Text;
        Assert.Contains(f.Server.AssetUri("v0.6.0").ToString(), said);
        Assert.Contains(f.Saved("keymanager-0.6.0.orc"), said);
    }

    [Fact]
    public async Task Not_found_is_an_error_naming_the_address_and_status()
    {
        await using var f = await ReleaseFixture.StartAsync();
        using var ps = new PsEngine();
        var r = ps.Run($"Save-KmRuntimeBundle 0.9.9 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}'");
        var e = Assert.Single(r.Errors);
        Assert.Equal($"BundleDownloadFailed,{Cmd}", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Contains(f.Server.AssetUri("v0.9.9").ToString(), e.Exception.Message);
        Assert.Contains("HTTP 404", e.Exception.Message);
        Assert.NotNull(e.ErrorDetails?.RecommendedAction);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Theory]
    [InlineData("tampered", "BundleDigestMismatch")]
    [InlineData("testnet", "BundleWrongNetwork")]
    [InlineData("version", "BundleVersionMismatch")]
    [InlineData("undeployed", "BundleNotDeployed")]
    [InlineData("othernode", "NodeOtherNetwork")]
    public async Task A_bundle_that_fails_verification_leaves_nothing(string kind, string errorId)
    {
        await using var f = await ReleaseFixture.StartAsync();
        switch (kind)
        {
            case "tampered": f.PublishTampered("v0.6.0"); break;
            case "testnet": f.Publish("v0.6.0", KmRelease.TestnetRuntimeId); break;
            case "version": f.Publish("v0.6.0", version: "0.5.0"); break;
            default: f.Publish("v0.6.0"); break;
        }
        await using var n = await Node(kind == "othernode" ? KmRelease.TestnetRuntimeId : KmRelease.MainnetRuntimeId, "0.5.0");
        var node = kind is "undeployed" or "othernode" ? $" -Socket '{n.Address}' -Network Mainnet" : "";
        var before = f.OutHash();
        using var ps = new PsEngine();
        var r = ps.Run($"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}'{node}");
        Assert.Empty(r.Output);
        Assert.Equal($"{errorId},{Cmd}", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, f.OutHash());
        if (kind == "othernode") Assert.Empty(f.Server.Requests); // refused before anything was downloaded
    }

    [Fact]
    public async Task The_right_version_of_another_build_is_refused_against_a_node()
    {
        await using var f = await ReleaseFixture.StartAsync();
        var deployed = ReleaseFixture.WriteBundle(f.Dir.File("deployed.orc"), KmRelease.MainnetRuntimeId, "0.6.0");
        f.Publish("v0.6.0", build: 9);
        var s = Statuses.Ready(SchemaGeneration.V24);
        s.KmRuntimeId = KmRelease.MainnetRuntimeId;
        s.Deployments = new[] { new SimDeployment { Version = "0.6.0", ValidFrom = 10, Identity = deployed.EnclaveIdentity!.ToString() } };
        await using var n = await SnapshotNode.StartAsync(s);
        using var ps = new PsEngine();
        var r = ps.Run($"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}' -Socket '{n.Address}'");
        Assert.Equal("EnclaveNotDeployed,KmPs.Cmdlets.SaveKmRuntimeBundleCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Empty(Directory.GetFileSystemEntries(f.Out));
    }

    [Fact]
    public async Task A_download_cut_mid_body_is_resumed_by_the_next_call()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        f.Server.CutNext(100_000);
        using var ps = new PsEngine();
        var command = $"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}' -Verbose";
        var cut = ps.Run(command);
        Assert.Equal($"BundleDownloadInterrupted,{Cmd}", Assert.Single(cut.Errors).FullyQualifiedErrorId);
        Assert.False(File.Exists(f.Saved("keymanager-0.6.0.orc")));
        var have = new FileInfo(f.Saved("keymanager-0.6.0.orc.partial")).Length;
        Assert.True(have > 0);

        var saved = Saved(ps.Run(command).AssertClean());
        Assert.Equal(have, saved.ResumedFrom);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0")), File.ReadAllBytes(saved.Path));
        Assert.Contains(f.Server.Requests, q => q.Status == 206 && q.Range == $"bytes={have}-");
        Assert.Equal(new[] { "keymanager-0.6.0.orc" }, Directory.GetFileSystemEntries(f.Out).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Stop_cancels_a_slow_download_at_once_leaving_only_the_partial_file_which_the_next_call_resumes()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        f.Server.BytesPerSecond = 20_000;
        using var ps = new PsEngine();
        using var shell = PowerShell.Create();
        shell.Runspace = ps.Runspace;
        shell.AddScript($"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}'");
        var run = shell.BeginInvoke();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!shell.Streams.Progress.Any(p => p.PercentComplete > 3) && DateTime.UtcNow < deadline) await Task.Delay(20);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        shell.Stop();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"stopped after {clock.Elapsed}");
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
        Assert.False(File.Exists(f.Saved("keymanager-0.6.0.orc")));
        var have = new FileInfo(f.Saved("keymanager-0.6.0.orc.partial")).Length;
        Assert.True(have > 0);

        f.Server.BytesPerSecond = 0;
        var saved = Saved(ps.Run($"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}'").AssertClean());
        Assert.True(saved.ResumedFrom >= have);
        Assert.Equal(File.ReadAllBytes(f.Server.AssetPath("v0.6.0")), File.ReadAllBytes(saved.Path));
    }

    [Fact]
    public async Task The_proxy_and_its_credential_are_passed_through()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        f.Server.ProxyCredential = "alice:s3cret";
        using var ps = new PsEngine();
        var r = ps.Run($"""
            $cred = [pscredential]::new('alice', (ConvertTo-SecureString 's3cret' -AsPlainText -Force))
            Save-KmRuntimeBundle 0.6.0 -BaseUri 'http://releases.invalid/releases/download/' -Destination '{f.Out}' -Proxy '{f.Server.ProxyUri}' -ProxyCredential $cred
            """).AssertClean();
        Assert.Equal("http://releases.invalid/releases/download/v0.6.0/keymanager.orc", Saved(r).SourceUri);
        var log = f.Server.Requests;
        Assert.All(log, q => Assert.StartsWith("http://releases.invalid/", q.RawTarget));
        Assert.Equal(407, log[0].Status);
        Assert.Contains(log, q => q.Status == 200 && q.ProxyAuthorization == "Basic " + Convert.ToBase64String("alice:s3cret"u8.ToArray()));
    }

    [Fact]
    public async Task An_existing_different_file_needs_Force_and_an_identical_one_is_left_alone()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0");
        var target = f.Saved("km.orc");
        File.WriteAllText(target, "another file");
        using var ps = new PsEngine();
        var command = $"Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{target}'";
        var before = f.OutHash();
        var refused = ps.Run(command);
        Assert.Equal($"BundleFileExists,{Cmd}", Assert.Single(refused.Errors).FullyQualifiedErrorId);
        Assert.Equal(before, f.OutHash());

        Assert.True(Saved(ps.Run(command + " -Force").AssertClean()).Replaced);
        Assert.True(Saved(ps.Run(command).AssertClean()).Unchanged);
        Assert.Equal(new[] { "km.orc" }, Directory.GetFileSystemEntries(f.Out).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Piped_nodes_give_the_network_and_the_deployments()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0-testnet", KmRelease.TestnetRuntimeId);
        await using var n = await Node(KmRelease.TestnetRuntimeId, "0.6.0");
        using var ps = new PsEngine();
        var r = ps.Run($"New-KmNode -Name km7 -DataDir '{n.DataDir}' | Save-KmRuntimeBundle 0.6.0 -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}'").AssertClean();
        var saved = Saved(r);
        Assert.Equal(KmNetwork.Testnet, saved.Network);
        Assert.Equal("km7", saved.Node);
        Assert.True(saved.DeploymentVerified);
        Assert.EndsWith("keymanager-0.6.0-testnet.orc", saved.Path);
    }

    [Theory]
    [InlineData("latest", "", "InvalidVersion")]
    [InlineData("0.6.0-testnet", "-Network Mainnet", "NetworkVersionConflict")]
    [InlineData("0.6.0", "-Uri ftp://example.org/km.orc", "InvalidDownloadUri")]
    [InlineData("0.6.0", "-Uri http://example.org/km.orc -Credential $cred", "CredentialOverHttp")]
    [InlineData("0.6.0", "-Destination /nonexistent/folder/km.orc", "DownloadDestinationInvalid")]
    [InlineData("0.6.0", "-Socket /x -Node (New-KmNode -Name a -DataDir /y)", "NodeAndSocket")]
    [InlineData("0.6.0", "-Proxy http://127.0.0.1:1 -NoProxy", "ProxyConflict")]
    public void Bad_invocations_stop_before_anything_is_fetched(string version, string extra, string errorId)
    {
        using var ps = new PsEngine();
        var r = ps.Run($"""
            $cred = [pscredential]::new('bob', (ConvertTo-SecureString 'pw' -AsPlainText -Force))
            Save-KmRuntimeBundle {version} {extra} {(extra.Contains("-Uri") ? "" : "-BaseUri http://127.0.0.1:1/")}
            """);
        // A terminating error of the statement, before any address was tried (nothing listens on port 1).
        Assert.Empty(r.Output);
        Assert.Equal($"{errorId},{Cmd}", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task The_view_fits_80_columns()
    {
        await using var f = await ReleaseFixture.StartAsync();
        f.Publish("v0.6.0-testnet", KmRelease.TestnetRuntimeId);
        using var ps = new PsEngine();
        var r = ps.Run($"Save-KmRuntimeBundle 0.6.0-testnet -BaseUri '{f.Server.BaseUri}' -Destination '{f.Out}' 3>$null | Out-String -Width 80").AssertClean();
        var lines = ((string)r.Output.Single().BaseObject).Split('\n').Where(l => l.Trim().Length > 0).ToList();
        Assert.Matches(@"^Version\s+Network\s+Size\s+Verified\s+File", lines[0]);
        Assert.Contains("digests only", lines[2]);
        Assert.Contains("keymanager-0.6.0-testnet.orc", string.Join("", lines.Skip(2)));
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= 80, l));
    }
}
