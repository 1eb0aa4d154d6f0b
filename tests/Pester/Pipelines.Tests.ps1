# Pipelines as operators write them, and the documented ErrorIds caught with $ErrorActionPreference = 'Stop'.

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    # The new version's deployment is far away: a node upgraded by hand stays not ready.
    $script:Cluster = New-TestCluster -Nodes 3 -UpgradeIn 100000
    Push-Location $Cluster.Dir
    Copy-Item $Cluster.Inventory ./km.json
}

AfterAll {
    Pop-Location
    Remove-TestCluster $Cluster
}

Describe 'Pipelines on a healthy cluster' {
    It 'Import-KmNode ./km.json | Get-KmStatus | Where-Object Status -ne ready finds nothing' {
        $statuses = @(Import-KmNode ./km.json | Get-KmStatus)
        $statuses.Name | Should -Be @('km1', 'km2', 'km3')
        @(Import-KmNode ./km.json | Get-KmStatus | Where-Object Status -ne ready) | Should -HaveCount 0
    }

    It 'gives every node one checksum and version: Group-Object and Test-KmReplication agree' {
        $nodes = Import-KmNode ./km.json
        $groups = @($nodes | Get-KmStatus | Group-Object Checksum)
        $groups | Should -HaveCount 1
        $groups[0].Count | Should -Be 3
        $report = Test-KmReplication $nodes.Socket
        $report.Ok | Should -BeTrue
        $report.Checksum | Should -Be $groups[0].Name
        Test-KmReplication $nodes.Socket -Quiet | Should -BeTrue
    }

    It 'gives -Raw the JSON shape of oasis-node control status, which ConvertTo-Json round-trips' {
        $json = Get-KmStatus ./nodes/km1/data -Raw | ConvertTo-Json -Depth 20
        $back = $json | ConvertFrom-Json
        $back.software_version | Should -Not -BeNullOrEmpty
        $back.PSObject.Properties.Name | Should -Contain 'keymanager'
    }

    It 'binds nodes by property name through Select-Object and ForEach-Object as well' {
        $names = Import-KmNode ./km.json | Select-Object Name, Socket | Get-KmStatus | ForEach-Object Name
        $names | Should -Be @('km1', 'km2', 'km3')
        (Import-KmNode ./km.json | Get-KmLocalState | Where-Object Exists).Count | Should -Be 3
    }

    It 'reads the registered extra_info into an init response whose checksum is the node''s' {
        $s = Get-KmStatus ./nodes/km2/data
        $s.InitResponse.Checksum | Should -Be $s.Checksum
        $s.InitResponse | Format-List | Out-String | Should -Match 'Checksum'
    }
}

Describe 'A node upgraded by hand before the deployment is active' {
    BeforeAll {
        $script:Nodes = Import-KmNode ./km.json
        $script:Node = $Nodes | Where-Object Name -eq km3
        $script:Staying = $Nodes | Where-Object Name -ne km3
        # README's per-node procedure, piped as written there.
        $script:Stopped = $Node | Stop-KmNode -Confirm:$false
        $script:Wiped = $Node | Clear-KmLocalState -RequirePeer $Staying -Confirm:$false
        $script:Changed = $Node | Set-KmRuntimeBundle -Path $Cluster.NewOrc -Confirm:$false
        $script:Started = $Node | Start-KmNode -Confirm:$false
    }

    It 'went through stop, wipe (moved aside), bundle swap and start, each reporting its result' {
        $Stopped.State | Should -Be 'Stopped'
        $Wiped.BackupPath | Should -Exist
        $Changed.Changed | Should -BeTrue
        $Changed.NewBundle | Should -Exist
        (Get-Content $Node.ConfigPath -Raw) | Should -Match ([regex]::Escape([IO.Path]::GetFileName($Changed.NewBundle)))
        $Started.State | Should -Be 'Started'
    }

    It 'is the one node Import-KmNode ./km.json | Get-KmStatus | Where-Object Status -ne ready finds' {
        $notReady = @(Import-KmNode ./km.json | Get-KmStatus | Where-Object Status -ne ready)
        $notReady.Name | Should -Be @('km3')
    }

    It 'makes Test-KmReplication report the node, and -Quiet say $false' {
        $report = Test-KmReplication $Nodes.Socket
        $report.Ok | Should -BeFalse
        ($report.Problems -join ' ') | Should -Match 'km3|nodes/km3'
        Test-KmReplication $Nodes.Socket -Quiet | Should -BeFalse
    }

    It 'waits in vain for its replication: Wait-KmNode -TimeoutSec ends with WaitTimeout and what it last saw' {
        $ErrorActionPreference = 'Stop'
        $caught = $null
        try { $Node | Wait-KmNode -Until Replicated -Version 0.6.0 -TimeoutSec 1 -PollIntervalMs 100 }
        catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'WaitTimeout,KmPs.Cmdlets.WaitKmNodeCommand'
        $caught.CategoryInfo.Category | Should -Be 'OperationTimeout'
        $caught.Exception.Message | Should -Match 'km3'
    }

    It 'is refused by Invoke-KmSafeUpgrade''s pre-flight, PreflightFailed, and nothing changes' {
        $before = Get-ClusterHashes $Cluster
        $ErrorActionPreference = 'Stop'
        $caught = $null
        try { Invoke-KmSafeUpgrade -InventoryPath ./km.json -BundlePath $Cluster.NewOrc -Confirm:$false }
        catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'PreflightFailed,Invoke-KmSafeUpgrade'
        $caught.Exception | Should -BeOfType ([KmPs.Core.KmException])
        $caught.Exception.Message | Should -Match 'km3'
        # Each refusal keeps its own ErrorId, on the error's TargetObject.
        ($caught.TargetObject | Where-Object Node -eq km3).ErrorId | Should -Be 'NodeNotReady'
        $after = Get-ClusterHashes $Cluster
        $after.Keys | Where-Object { $_ -notlike '*.upgrade-journal.json*' } | Should -Be @($before.Keys)
        foreach ($k in $before.Keys) { $after[$k] | Should -Be $before[$k] -Because "$k must not change" }
    }
}

Describe 'ErrorIds with $ErrorActionPreference = ''Stop'' and try/catch' {
    BeforeEach { $ErrorActionPreference = 'Stop' }

    It 'catches <Id> from: <Code>' -ForEach @(
        @{ Id = 'SocketNotFound'; Command = 'GetKmStatusCommand'; Category = 'ObjectNotFound'; Code = 'Get-KmStatus ./nodes/nobody/data' }
        @{ Id = 'InventoryNotFound'; Command = 'ImportKmNodeCommand'; Category = 'ObjectNotFound'; Code = 'Import-KmNode ./missing.json' }
        @{ Id = 'EpochRequired'; Command = 'WaitKmNodeCommand'; Category = 'InvalidArgument'; Code = 'Wait-KmNode ./nodes/km1/data -Until Epoch' }
        @{ Id = 'VersionNotDeployed'; Command = 'GetKmUpgradeEpochCommand'; Category = 'ObjectNotFound'; Code = 'Get-KmUpgradeEpoch ./nodes/km1/data -Version 9.9.9' }
        @{ Id = 'WipeRefused'; Command = 'ClearKmLocalStateCommand'; Category = 'InvalidOperation'; Code = 'Import-KmNode ./km.json | Select-Object -First 1 | Clear-KmLocalState -RequirePeer ./nodes/km2/data -Confirm:$false' }
        @{ Id = 'InventoryIncomplete'; Command = 'Invoke-KmSafeUpgrade'; Category = 'InvalidData'; Code = 'Import-KmNode ./km.json | Select-Object -First 2 | Invoke-KmSafeUpgrade -BundlePath ./bundles/keymanager-0.6.0.orc -Confirm:$false' }
    ) {
        $caught = $null
        try { & ([scriptblock]::Create($Code)); throw 'no error' }
        catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be "$Id,$(if ($Command -like '*-*') { $Command } else { "KmPs.Cmdlets.$Command" })"
        [string]$caught.CategoryInfo.Category | Should -Be $Category
        $caught.Exception | Should -BeOfType ([KmPs.Core.KmException])
        $caught.Exception.ErrorId | Should -Be $Id
    }

    It 'keeps non-terminating errors in their place without Stop: two statuses and one SocketNotFound, in input order' {
        $ErrorActionPreference = 'Continue'
        $errs = $null
        $out = @(Get-KmStatus ./nodes/km1/data, ./nodes/nobody/data, ./nodes/km2/data -ErrorAction SilentlyContinue -ErrorVariable errs)
        $out.Name | Should -HaveCount 2
        @($errs) | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SocketNotFound,*'
        $errs[0].TargetObject | Should -Match 'nobody'
    }

    It 'stops a failed step with UpgradeStopped, the step''s own error inside, and the nodes as they were' {
        # Every node's stop script fails: the first destructive step of the run fails.
        $fresh = New-TestCluster -Nodes 2 -UpgradeIn 100000
        try {
            $inv = Get-Content $fresh.Inventory -Raw | ConvertFrom-Json
            foreach ($n in $inv.nodes) { $n.stopScript = "throw 'stop refused by the test'" }
            $path = Join-Path $fresh.Dir 'km-badstop.json'
            $inv | ConvertTo-Json -Depth 5 | Set-Content $path
            $caught = $null
            try { Invoke-KmSafeUpgrade -InventoryPath $path -BundlePath $fresh.NewOrc -Confirm:$false }
            catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -Be 'UpgradeStopped,Invoke-KmSafeUpgrade'
            $caught.Exception.InnerException | Should -Not -BeNullOrEmpty
            $caught.Exception.InnerException.ErrorId | Should -Be 'LifecycleScriptFailed'
            $caught.Exception.Message | Should -Match 'What to do'
            # The node states as data: every node, none touched (the failed Stop is not done), both answering.
            $report = $caught.TargetObject
            $report | Should -BeOfType ([KmPs.Core.Orchestration.UpgradeStopReport])
            $report.Nodes.Name | Should -Be @('km1', 'km2')
            $report.Nodes.Untouched | Should -Be @($true, $true)
            $report.Nodes.Liveness | Should -Be @('Running', 'Running')
            $report.Step.Action | Should -Be 'Stop'
            $caught.Exception.Message | Should -BeLike "*$($report.Advice)*"
            ($report.Nodes | Format-Table | Out-String) | Should -Match 'km1\s+untouched\s+ready 0\.5\.0'
            Test-LockReleased "$path.upgrade-journal.json.lock" | Should -BeTrue
            @(Import-KmNode $path | Get-KmStatus | Where-Object Status -eq ready) | Should -HaveCount 2
        }
        finally { Remove-TestCluster $fresh }
    }
}
