using System.Management.Automation;
using System.Xml.Linq;
using KmPs.Core.Status;
using KmPs.Tests.Support;
using KmPs.Tests.Harness;

namespace KmPs.Module.Tests.Module;

/// <summary>The built module imported into a hosted PowerShell 7.6 engine, run through real pipelines.</summary>
public class GetKmStatusModuleTests
{
    [Fact]
    public void Module_exports_exactly_the_manifest_commands()
    {
        using var ps = new PsEngine();
        var names = ps.Run("(Get-Module OasisKeyManager).ExportedCommands.Keys | ForEach-Object { $_ }").AssertClean()
            .Output.Select(o => (string)o.BaseObject).OrderBy(n => n).ToArray();
        Assert.Contains("Get-KmStatus", names);
        Assert.Contains("ConvertFrom-KmExtraInfo", names);
        Assert.All(names, n => Assert.Matches("^[A-Z][A-Za-z]+-Km[A-Za-z]+$", n));
    }

    [Fact]
    public async Task Piped_address_string_gives_a_typed_status()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        using var ps = new PsEngine();
        var r = ps.Run($"'{node.Address}' | Get-KmStatus").AssertClean();
        var s = r.Single<KmStatus>();
        Assert.Equal("ready", s.Status);
        Assert.Equal(TestVectors.Checksum, s.Checksum);
        Assert.Equal(node.Address, s.Name);
    }

    [Fact]
    public async Task Objects_with_Socket_and_Name_bind_by_property_name()
    {
        await using var a = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V22_2));
        await using var b = await SnapshotNode.StartAsync(Statuses.Starting(SchemaGeneration.V23_0));
        using var ps = new PsEngine();
        var r = ps.Run($$"""
            @([pscustomobject]@{ Name = 'km-a'; Socket = '{{a.Address}}' }, [pscustomobject]@{ Name = 'km-b'; Socket = '{{b.DataDir}}' }) |
                Get-KmStatus | ForEach-Object { "$($_.Name)=$($_.Status)/$($_.SchemaGeneration)" }
            """).AssertClean();
        Assert.Equal(new[] { "km-a=ready/V22_2", "km-b=starting/V23_0" }, r.Output.Select(o => o.ToString()));
    }

    [Fact]
    public async Task Relative_data_dir_resolves_against_the_current_location()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V23_0));
        using var ps = new PsEngine();
        var parent = Path.GetDirectoryName(node.DataDir)!;
        var leaf = Path.GetFileName(node.DataDir);
        var r = ps.Run($"$ExecutionContext.SessionState.Path.SetLocation('{parent}') | Out-Null; (Get-KmStatus -Socket '{leaf}').Status").AssertClean();
        Assert.Equal("ready", r.Output.Single().ToString());
    }

    [Fact]
    public async Task Relative_data_dirs_follow_each_change_of_location_and_of_a_drive_root()
    {
        // The cmdlets keep the current directory's provider path between reads (KmCmdlet.CurrentDirectory):
        // a Set-Location between pipeline items, and a drive of the same name re-created with another
        // root, must each be seen.
        var st = Statuses.Ready(SchemaGeneration.V24);
        st.Epoch = 1001;
        await using var a = await SnapshotNode.StartAsync(st);
        var st2 = Statuses.Ready(SchemaGeneration.V24);
        st2.Epoch = 1002;
        await using var b = await SnapshotNode.StartAsync(st2);
        var (pa, la) = (Path.GetDirectoryName(a.DataDir)!, Path.GetFileName(a.DataDir));
        var (pb, lb) = (Path.GetDirectoryName(b.DataDir)!, Path.GetFileName(b.DataDir));
        using var ps = new PsEngine();
        var r = ps.Run($$"""
            & { Set-Location '{{pa}}'; '{{la}}'; Set-Location '{{pb}}'; '{{lb}}' } | Get-KmStatus | ForEach-Object { $_.Epoch }
            $null = New-PSDrive -Name kmrel -PSProvider FileSystem -Root '{{pa}}'; Set-Location kmrel:/
            (Get-KmStatus '{{la}}').Epoch
            Set-Location /; Remove-PSDrive kmrel; $null = New-PSDrive -Name kmrel -PSProvider FileSystem -Root '{{pb}}'; Set-Location kmrel:/
            (Get-KmStatus '{{lb}}').Epoch
            """).AssertClean();
        Assert.Equal(new ulong[] { 1001, 1002, 1001, 1002 }, r.Output.Select(o => (ulong)o.BaseObject));
    }

    [Fact]
    public async Task Many_nodes_keep_input_order_and_errors_do_not_stop_the_rest()
    {
        var nodes = new List<SnapshotNode>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                var st = Statuses.Ready((SchemaGeneration)new[] { 22, 23, 24 }[i % 3]);
                st.Epoch = (ulong)(1000 + i);
                nodes.Add(await SnapshotNode.StartAsync(st));
            }
            using var missing = new TempDir();
            var inputs = nodes.Select(n => n.Address).ToList();
            inputs.Insert(3, missing.Path);
            inputs.Insert(1, "tcp://1.2.3.4:5");
            using var ps = new PsEngine();
            var r = ps.Run("$args[0] | Get-KmStatus | ForEach-Object { $_.Epoch }".Replace("$args[0]", "$inputs"),
                new Dictionary<string, object?> { ["inputs"] = inputs.ToArray() });
            Assert.Equal(Enumerable.Range(1000, 6).Select(i => (ulong)i), r.Output.Select(o => (ulong)o.BaseObject));
            Assert.Equal(new[] { "InvalidSocketAddress,KmPs.Cmdlets.GetKmStatusCommand", "SocketNotFound,KmPs.Cmdlets.GetKmStatusCommand" },
                r.Errors.Select(e => e.FullyQualifiedErrorId));
            Assert.Equal(ErrorCategory.InvalidArgument, r.Errors[0].CategoryInfo.Category);
            Assert.Equal("tcp://1.2.3.4:5", r.Errors[0].TargetObject);
            Assert.NotNull(r.Errors[1].ErrorDetails?.RecommendedAction);
        }
        finally
        {
            foreach (var n in nodes) await n.DisposeAsync();
        }
    }

    [Fact]
    public async Task GetStatus_failure_is_a_non_terminating_GrpcError()
    {
        var st = Statuses.Ready(SchemaGeneration.V24);
        st.GetStatusError = "registry: node not found";
        await using var node = await SnapshotNode.StartAsync(st);
        using var ps = new PsEngine();
        var r = ps.Run($"Get-KmStatus '{node.Address}' ; 'after'");
        Assert.Equal("after", r.Output.Single().ToString());
        var e = Assert.Single(r.Errors);
        Assert.Equal("GrpcError,KmPs.Cmdlets.GetKmStatusCommand", e.FullyQualifiedErrorId);
        Assert.Contains("registry: node not found", e.Exception.Message);
    }

    [Fact]
    public void Empty_socket_is_a_parameter_binding_error()
    {
        using var ps = new PsEngine();
        var r = ps.Run("Get-KmStatus -Socket ''");
        Assert.Empty(r.Output);
        Assert.StartsWith("ParameterArgumentValidationError", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Theory]
    [InlineData(SchemaGeneration.V22_2, "keymanager.status")]
    [InlineData(SchemaGeneration.V23_0, "keymanager.worker.status")]
    [InlineData(SchemaGeneration.V24, "keymanager.secrets.worker.status")]
    public async Task Raw_gives_the_cli_json_shape(SchemaGeneration g, string statusPath)
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(g));
        using var ps = new PsEngine();
        var r = ps.Run($"$s = Get-KmStatus '{node.Address}' -Raw; $s.{statusPath}; $s.registration.descriptor.runtimes[0].id; " +
                       "$s.registration.descriptor.runtimes | ConvertFrom-KmExtraInfo | ForEach-Object Checksum; $s.registration.last_registration")
            .AssertClean();
        Assert.Equal(new[] { "ready", TestOrcs.TestnetKm, TestVectors.Checksum, "2023-11-14T22:13:20Z" },
            r.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void ConvertFrom_KmExtraInfo_takes_base64_and_bytes()
    {
        using var ps = new PsEngine();
        var r = ps.Run($"""
            '{TestVectors.ExtraInfo}' | ConvertFrom-KmExtraInfo | ForEach-Object Checksum
            ConvertFrom-KmExtraInfo -ExtraInfo ([Convert]::FromBase64String('{TestVectors.ExtraInfo}')) | ForEach-Object PolicyChecksum
            ,[byte[]][Convert]::FromBase64String('{TestVectors.ExtraInfo}') | ConvertFrom-KmExtraInfo | ForEach-Object IsSecure
            """).AssertClean();
        Assert.Equal(new object[] { TestVectors.Checksum, TestVectors.PolicyChecksum, true }, r.Output.Select(o => o.BaseObject));
    }

    [Fact]
    public void ConvertFrom_KmExtraInfo_reports_bad_items_and_goes_on()
    {
        using var ps = new PsEngine();
        var r = ps.Run($"'%%%', '', '9g==', '{TestVectors.ExtraInfo}' | ConvertFrom-KmExtraInfo | ForEach-Object IsSecure");
        Assert.Equal(true, r.Output.Single().BaseObject);
        Assert.Equal(3, r.Errors.Count);
        Assert.All(r.Errors, e => Assert.Equal("InvalidExtraInfo,KmPs.Cmdlets.ConvertFromKmExtraInfoCommand", e.FullyQualifiedErrorId));
        Assert.All(r.Errors, e => Assert.Equal(ErrorCategory.InvalidData, e.CategoryInfo.Category));
    }

    /// <summary>Every command the manifest exports (cmdlets and the script cmdlet).</summary>
    public static TheoryData<string> ExportedCommands()
    {
        var text = File.ReadAllText(TestPaths.ModuleManifest);
        var data = new TheoryData<string>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"'([A-Z][a-zA-Z]+-Km[A-Za-z]+)'"))
            data.Add(m.Groups[1].Value);
        return data;
    }

    /// <summary>The compiled cmdlets (their MAML help is generated; a script function's help is PowerShell's own).</summary>
    public static TheoryData<string> ExportedCmdlets()
    {
        var data = new TheoryData<string>();
        var text = File.ReadAllText(TestPaths.ModuleManifest);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"'([A-Z][a-zA-Z]+-Km[A-Za-z]+)'"))
            if (m.Groups[1].Value != "Invoke-KmSafeUpgrade") data.Add(m.Groups[1].Value);
        return data;
    }

    [Theory]
    [MemberData(nameof(ExportedCommands))]
    public void Help_has_synopsis_description_parameters_and_examples(string command)
    {
        using var ps = new PsEngine();
        var r = ps.Run($$"""
            $h = Get-Help {{command}} -Full
            $h.Synopsis
            ($h.description | ForEach-Object Text) -join ' '
            @($h.examples.example).Count
            $params = (Get-Command {{command}}).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }
            $documented = @($h.parameters.parameter | Where-Object { ($_.description | ForEach-Object Text) -join '' } | ForEach-Object name)
            @($params | Where-Object { $_ -notin $documented }).Count
            """).AssertClean();
        Assert.False(string.IsNullOrWhiteSpace(r.Output[0]?.ToString()));
        Assert.DoesNotContain(command, r.Output[0].ToString()); // a real synopsis, not the generated syntax
        Assert.True(r.Output[1].ToString()!.Length > 100);
        Assert.True((int)r.Output[2].BaseObject >= 2);
        Assert.Equal(0, (int)r.Output[3].BaseObject);

        var examples = ps.Run($"(Get-Help {command} -Examples).examples.example | ForEach-Object {{ $_.code }}").AssertClean();
        Assert.True(examples.Output.Count >= 2);
    }

    [Theory]
    [MemberData(nameof(ExportedCmdlets))]
    public void Help_syntax_matches_the_parameter_sets_PowerShell_binds(string command)
    {
        using var ps = new PsEngine();
        // One line per parameter set: "name:required:position" of each non-common parameter, sorted
        // (the minimal engine has no Sort-Object).
        var r = ps.Run($$"""
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            function Join-Sorted([string[]] $items, [string] $separator) { [Array]::Sort($items); $items -join $separator }
            $fromCommand = (Get-Command {{command}}).ParameterSets | ForEach-Object {
                Join-Sorted @($_.Parameters | Where-Object Name -notin $common | ForEach-Object {
                    '{0}:{1}:{2}' -f $_.Name, "$($_.IsMandatory)".ToLower(), $(if ($_.Position -ge 0) { $_.Position } else { 'named' }) }) ','
            }
            $fromHelp = (Get-Help {{command}}).syntax.syntaxItem | ForEach-Object {
                Join-Sorted @($_.parameter | Where-Object name -notin $common | ForEach-Object {
                    '{0}:{1}:{2}' -f $_.name, "$($_.required)".ToLower(), $_.position }) ','
            }
            Join-Sorted $fromCommand ' | '
            Join-Sorted $fromHelp ' | '
            """).AssertClean();
        Assert.Contains(":true:", r.Output[0].ToString()); // not vacuous: the mandatory parameters are there
        Assert.Equal(r.Output[0].ToString(), r.Output[1].ToString());
    }

    [Fact]
    public void Every_output_type_of_every_command_has_a_default_view()
    {
        using var ps = new PsEngine();
        var file = ps.Run("(Get-Module OasisKeyManager).ExportedFormatFiles").AssertClean().Output.Single().ToString()!;
        var viewed = XDocument.Load(file).Descendants("TypeName").Select(t => t.Value).ToHashSet();
        var types = ps.Run("Get-Command -Module OasisKeyManager | ForEach-Object { $_.OutputType } | ForEach-Object { $_.Name }").AssertClean()
            .Output.Select(o => o.ToString()!).Distinct().ToList();
        Assert.True(types.Count >= 12, string.Join(", ", types));
        var missing = types.Where(t => t is not "System.Boolean" and not "System.Management.Automation.PSObject" && !viewed.Contains(t)).ToList();
        Assert.Empty(missing);
        Assert.Contains(ps.Run("Get-Command -Module OasisKeyManager").AssertClean().Output, c => c.ToString() == "Invoke-KmSafeUpgrade");
    }

    [Fact]
    public void Format_file_has_default_views_for_output_types()
    {
        using var ps = new PsEngine();
        var file = ps.Run("(Get-Module OasisKeyManager).ExportedFormatFiles").AssertClean().Output.Single().ToString()!;
        var views = XDocument.Load(file).Descendants("View").ToList();
        var types = views.SelectMany(v => v.Descendants("TypeName")).Select(t => t.Value).ToList();
        Assert.Contains(typeof(KmStatus).FullName, types);
        Assert.Contains(typeof(KmInitResponse).FullName, types);
        Assert.NotNull(views.Single(v => v.Descendants("TypeName").Any(t => t.Value == typeof(KmStatus).FullName)).Element("TableControl"));
    }

    [Fact]
    public async Task Default_view_renders_through_Out_Default()
    {
        await using var node = await SnapshotNode.StartAsync(Statuses.Ready(SchemaGeneration.V24));
        var host = new RecordingHost();
        using var ps = new PsEngine(host);
        ps.Run($"Get-KmStatus '{node.Address}' | Out-Default").AssertClean();
        var text = host.Text;
        Assert.Contains("Status", text);
        Assert.Contains("Registered (UTC)", text);
        Assert.Contains("ready", text);
        Assert.Contains(TestVectors.Checksum[..8] + "\u2026", text);
    }
}

public class FormatViewTests
{
    [Theory]
    [InlineData("KmPs.Core.Orchestration.UpgradeNodeResult", "Half")]
    [InlineData("KmPs.Core.LocalState.LocalStateRecord", "PeerChecksum")]
    [InlineData("KmPs.Core.Inventory.KmNode", "Lifecycle")]
    [InlineData("KmPs.Core.Inventory.KmLifecycleResult", "Seconds")]
    [InlineData("KmPs.Core.Status.KmDeployment", "EpochsRemaining")]
    [InlineData("KmPs.Core.Replication.ReplicationReport", "Ready")]
    [InlineData("KmPs.Core.Replication.ReplicationNodeResult", "Problems")]
    [InlineData("KmPs.Core.Diagnosis.UpgradeProblem", "Fix")]
    [InlineData("KmPs.Core.Orchestration.UpgradeResult", "JournalPath")]
    public void View_renders_through_Out_Default(string type, string column)
    {
        var host = new RecordingHost();
        using var ps = new PsEngine(host);
        ps.Run($"[{type}]::new() | Out-Default").AssertClean();
        Assert.Contains(column, host.Text);
        Assert.DoesNotContain("ERROR", host.Text);
    }
}
