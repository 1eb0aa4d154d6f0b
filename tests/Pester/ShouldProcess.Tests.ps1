# -WhatIf changes nothing (every file of the cluster hashed before and after); -Confirm prompts are
# answered in a real console host (a child pwsh reading its answers from stdin); -Confirm:$false paths.

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    $script:Cluster = New-TestCluster -Nodes 3 -UpgradeIn 100000
    $script:Nodes = Import-KmNode $Cluster.Inventory

    function Assert-Unchanged($Before) {
        $after = Get-ClusterHashes $Cluster
        @($after.Keys) | Should -Be @($Before.Keys) -Because 'no file may appear or disappear'
        foreach ($k in $Before.Keys) { $after[$k] | Should -Be $Before[$k] -Because "$k must not change" }
    }
    function Get-ReadyNames { @($Nodes | Get-KmStatus -ErrorAction SilentlyContinue | Where-Object Status -eq ready | ForEach-Object Name) }
}

AfterAll { Remove-TestCluster $Cluster }

Describe '-WhatIf changes nothing' {
    It 'Invoke-KmSafeUpgrade -WhatIf returns the plan, touches no file and leaves every node running' {
        $before = Get-ClusterHashes $Cluster
        $r = Invoke-KmSafeUpgrade -InventoryPath $Cluster.Inventory -BundlePath $Cluster.NewOrc -WhatIf
        $r.WhatIf | Should -BeTrue
        $r.Success | Should -BeFalse
        $r.Plan.Steps.Count | Should -BeGreaterThan 8
        $r.Nodes.Name | Sort-Object | Should -Be @('km1', 'km2', 'km3')
        Assert-Unchanged $before
        Get-ReadyNames | Should -Be @('km1', 'km2', 'km3')
    }

    It 'Invoke-KmSafeUpgrade -WhatIf says every step in the console: one "What if:" line per step' {
        $child = Invoke-ChildPwsh -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
`$r = Invoke-KmSafeUpgrade -InventoryPath '$($Cluster.Inventory)' -BundlePath '$($Cluster.NewOrc)' -WhatIf
"steps=`$(`$r.Plan.Steps.Count)"
"@
        $child.ExitCode | Should -Be 0 -Because $child.Error
        $steps = [int]([regex]::Match($child.Output, 'steps=(\d+)').Groups[1].Value)
        $steps | Should -BeGreaterThan 8
        ([regex]::Matches($child.Output, '(?m)^What if: ')).Count | Should -Be $steps
        $child.Output | Should -Match 'What if: Performing the operation ".*" on target "km1"'
    }

    It 'Clear-KmLocalState -Delete -WhatIf on a stopped node deletes nothing' {
        $null = $Nodes[0] | Stop-KmNode -Confirm:$false
        try {
            $before = Get-ClusterHashes $Cluster
            $out = @($Nodes[0] | Clear-KmLocalState -RequirePeer $Nodes[1], $Nodes[2] -Delete -WhatIf -ErrorAction Stop)
            $out | Should -HaveCount 0
            Assert-Unchanged $before
            ($Nodes[0] | Get-KmLocalState).Exists | Should -BeTrue
        }
        finally { $null = $Nodes[0] | Start-KmNode -Confirm:$false }
        $Nodes[0] | Wait-KmNode -Until Ready -TimeoutSec 60 | Should -Not -BeNullOrEmpty
    }

    It 'Clear-KmLocalState -WhatIf on a running node says WipeRefused, as the real run would, and changes nothing' {
        $before = Get-ClusterHashes $Cluster
        { $Nodes[0] | Clear-KmLocalState -RequirePeer $Nodes[1], $Nodes[2] -WhatIf -ErrorAction Stop } | Should -Throw -ErrorId 'WipeRefused,KmPs.Cmdlets.ClearKmLocalStateCommand'
        Assert-Unchanged $before
    }

    It '<Command> -WhatIf changes nothing' -ForEach @(
        @{ Command = 'Stop-KmNode'; Code = { $Nodes[0] | Stop-KmNode -WhatIf } }
        @{ Command = 'Set-KmRuntimeBundle'; Code = { $Nodes[0] | Set-KmRuntimeBundle -Path $Cluster.NewOrc -WhatIf } }
        @{ Command = 'Restore-KmLocalState'; Code = { $Nodes[0] | Restore-KmLocalState -WhatIf -ErrorAction SilentlyContinue } }
    ) {
        $before = Get-ClusterHashes $Cluster
        $out = @(& $Code)
        $out | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | Should -HaveCount 0
        Assert-Unchanged $before
        Get-ReadyNames | Should -Be @('km1', 'km2', 'km3')
    }
}

Describe '-Confirm answered in the console host' {
    It 'Stop-KmNode -Confirm answered No leaves the node running; the prompt names the node and the action' {
        $child = Invoke-ChildPwsh -Answers 'N' -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
`$r = Import-KmNode '$($Cluster.Inventory)' | Where-Object Name -eq km2 | Stop-KmNode -Confirm
"results=`$(@(`$r).Count)"
"@
        $child.ExitCode | Should -Be 0 -Because $child.Error
        $child.Output | Should -Match 'Are you sure you want to perform this action\?'
        $child.Output | Should -Match 'on\s+target\s+"km2"'
        $child.Output | Should -Match 'results=0'
        Get-ReadyNames | Should -Be @('km1', 'km2', 'km3')
    }

    It 'Invoke-KmSafeUpgrade answered No at its first prompt ends with UpgradeDeclined, nothing changed, the lock released' {
        $before = Get-ClusterHashes $Cluster
        $journal = Join-Path $Cluster.Dir 'declined-journal.json'
        $child = Invoke-ChildPwsh -Answers 'N' -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
try { Invoke-KmSafeUpgrade -InventoryPath '$($Cluster.Inventory)' -BundlePath '$($Cluster.NewOrc)' -JournalPath '$journal' -ErrorAction Stop; 'no error' }
catch { "caught=`$(`$_.FullyQualifiedErrorId)" }
"@
        $child.ExitCode | Should -Be 0 -Because $child.Error
        $child.Output | Should -Match 'Are you sure you want to perform this action\?'
        $child.Output | Should -Match 'caught=UpgradeDeclined,Invoke-KmSafeUpgrade'
        Test-LockReleased "$journal.lock" | Should -BeTrue
        # The journal (and its lock file) may remember the plan; no node file changed.
        Remove-Item $journal, "$journal.lock" -ErrorAction SilentlyContinue
        Assert-Unchanged $before
        Get-ReadyNames | Should -Be @('km1', 'km2', 'km3')
    }

    It 'Stop-KmNode -Confirm answered Yes stops the node, and Start-KmNode -Confirm answered Yes starts it again' {
        $child = Invoke-ChildPwsh -Answers 'Y', 'Y' -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
`$n = Import-KmNode '$($Cluster.Inventory)' | Where-Object Name -eq km2
"stop=`$((`$n | Stop-KmNode -Confirm).State)"
try { Get-KmStatus `$n.Socket -ErrorAction Stop; 'still answering' } catch { "status=`$(`$_.FullyQualifiedErrorId)" }
"start=`$((`$n | Start-KmNode -Confirm).State)"
"@
        $child.ExitCode | Should -Be 0 -Because $child.Error
        $child.Output | Should -Match 'stop=Stopped'
        $child.Output | Should -Match 'status=(SocketNotFound|ConnectionRefused),KmPs.Cmdlets.GetKmStatusCommand'
        $child.Output | Should -Match 'start=Started'
        $Nodes[1] | Wait-KmNode -Until Ready -TimeoutSec 60 | Should -Not -BeNullOrEmpty
    }

    It 'Clear-KmLocalState (ConfirmImpact High) in a -NonInteractive pwsh fails instead of hanging, and wipes nothing' {
        $before = Get-ClusterHashes $Cluster
        $child = Invoke-ChildPwsh -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
`$n = @(Import-KmNode '$($Cluster.Inventory)')
`$null = `$n[0] | Stop-KmNode -Confirm:`$false
try { `$n[0] | Clear-KmLocalState -RequirePeer `$n[1], `$n[2] -ErrorAction Stop; 'no error' } catch { "caught=`$(`$_.FullyQualifiedErrorId) message=`$(`$_.Exception.Message)" }
`$null = `$n[0] | Start-KmNode -Confirm:`$false
"@ -NonInteractive
        $child.ExitCode | Should -Be 0 -Because $child.Error
        # The engine refuses to prompt in a -NonInteractive host: the ShouldProcess call fails, the command with it.
        $child.Output | Should -Match 'caught=\S+ message=.*(prompt|interactive|NonInteractive)'
        $child.Output | Should -Not -Match 'no error'
        Assert-Unchanged $before
        $Nodes[0] | Wait-KmNode -Until Ready -TimeoutSec 60 | Should -Not -BeNullOrEmpty
    }
}

Describe '-Confirm:$false paths' {
    It 'Clear-KmLocalState -Confirm:$false moves a stopped node''s state aside and Restore-KmLocalState -Confirm:$false puts it back' {
        $node = $Nodes[2]
        $null = $node | Stop-KmNode -Confirm:$false
        $record = $node | Clear-KmLocalState -RequirePeer $Nodes[0], $Nodes[1] -Confirm:$false
        $record.BackupPath | Should -Exist
        $info = $node | Get-KmLocalState
        $info.Exists | Should -BeFalse
        $info.Backups[0].Path | Should -Be $record.BackupPath
        $null = $node | Restore-KmLocalState -Confirm:$false
        ($node | Get-KmLocalState).Exists | Should -BeTrue
        $null = $node | Start-KmNode -Confirm:$false
        $status = $node | Wait-KmNode -Until Ready -TimeoutSec 60
        $status.Checksum | Should -Be ($Nodes[0] | Get-KmStatus).Checksum
    }
}
