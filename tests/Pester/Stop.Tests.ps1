# Ctrl+C-style stops of long waits: PowerShell.Stop() on a running pipeline (what the console host does
# on Ctrl+C), and a real Ctrl+C typed into a pwsh on a pseudo-terminal.

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    # The deployment is far away: the upgrade waits for its epoch for as long as we let it.
    $script:Cluster = New-TestCluster -Nodes 2 -UpgradeIn 100000
    $script:Nodes = @(Import-KmNode $Cluster.Inventory)

    # Starts $Script in a new runspace of this pwsh and returns once it has written its first progress record.
    function Start-Pipeline([string] $Script) {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$Manifest'`n$Script")
        $handle = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        while ($ps.Streams.Progress.Count -eq 0 -and -not $handle.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        [pscustomobject]@{ PowerShell = $ps; Handle = $handle }
    }
}

AfterAll { Remove-TestCluster $Cluster }

Describe 'Stopping Wait-KmNode' {
    It 'PowerShell.Stop() ends a wait for a far epoch at once: Stopped, no output, no error, the runspace usable again' {
        $run = Start-Pipeline "Wait-KmNode -Socket '$($Nodes[0].Socket)' -Until Epoch -Epoch 100000000 -TimeoutSec 3600"
        $ps = $run.PowerShell
        $ps.InvocationStateInfo.State | Should -Be 'Running' -Because 'the wait is under way (it wrote progress)'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $clock.Stop()
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        # The wait had an hour left; a stop that waited for a poll or a timeout would show here.
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        $ps.Streams.Error | Where-Object { $_.FullyQualifiedErrorId -notlike 'PipelineStopped*' } | Should -BeNullOrEmpty
        $ps.Commands.Clear()
        $status = $ps.AddScript("Get-KmStatus '$($Nodes[0].Socket)'").Invoke()
        $status[0].Status | Should -Be 'ready'
        $ps.Dispose()
    }

    It 'a real Ctrl+C in a console pwsh stops the wait, runs its finally block and nothing after it' {
        $marker = Join-Path $Cluster.Dir 'ctrlc-finally.txt'
        # Progress off: with the progress bar drawn, the Ctrl+C typed into this pseudo-terminal was not
        # honoured within 90 s (see the report of issue 11; unresolved whether a real terminal differs).
        $console = Invoke-InConsole -Keys "`u{3}" -After 'wait-started' -KeysDelayMs 1500 -TimeoutSec 90 -Script @"
`$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
'wait-started'
`$clock = [Diagnostics.Stopwatch]::StartNew()
try { Wait-KmNode -Socket '$($Nodes[0].Socket)' -Until Epoch -Epoch 100000000 -TimeoutSec 3600 }
finally { "stopped after `$(`$clock.ElapsedMilliseconds) ms" | Set-Content '$marker' }
'after-the-wait'
"@
        $console.KeysSent | Should -BeTrue
        $marker | Should -Exist
        $console.Output | Should -Not -Match 'after-the-wait'
        $ms = [int]([regex]::Match((Get-Content $marker -Raw), '(\d+) ms').Groups[1].Value)
        $ms | Should -BeGreaterOrEqual 1000 -Because 'Ctrl+C came 1.5 s after the wait began'
        $ms | Should -BeLessThan 60000 -Because 'the wait had an hour left'
    }
}

Describe 'Stopping Invoke-KmSafeUpgrade while it waits for the upgrade epoch' {
    BeforeAll {
        $script:Journal = Join-Path $Cluster.Dir 'stop-journal.json'
        $script:Run = Start-Pipeline "Invoke-KmSafeUpgrade -InventoryPath '$($Cluster.Inventory)' -BundlePath '$($Cluster.NewOrc)' -JournalPath '$Journal' -Confirm:`$false"
        # Wait until the run is in its epoch wait: Wait-KmNode's progress (activity "Waiting for epoch ...").
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        while (-not @($Run.PowerShell.Streams.Progress | Where-Object Activity -like 'Waiting for epoch*') -and -not $Run.Handle.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $script:WasWaiting = [bool]@($Run.PowerShell.Streams.Progress | Where-Object Activity -like 'Waiting for epoch*')
        $script:StopClock = [Diagnostics.Stopwatch]::StartNew()
        $Run.PowerShell.Stop()
        $StopClock.Stop()
    }
    AfterAll { $Run.PowerShell.Dispose() }

    It 'was in its wait for the upgrade epoch and stops at once' {
        $WasWaiting | Should -BeTrue -Because ($Run.PowerShell.Streams.Error | Out-String)
        $Run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
        $StopClock.Elapsed.TotalSeconds | Should -BeLessThan 10
    }

    It 'releases the journal lock and keeps the journal' {
        Test-LockReleased "$Journal.lock" | Should -BeTrue
        $Journal | Should -Exist
    }

    It 'left the first half upgraded and the other node untouched, ready on the old version' {
        $statuses = @($Nodes | Get-KmStatus)
        @($statuses | Where-Object { $_.Status -eq 'ready' -and "$($_.RegisteredVersion)" -eq '0.5.0' }) | Should -HaveCount 1
        (Get-Content $Nodes[0].ConfigPath -Raw) + (Get-Content $Nodes[1].ConfigPath -Raw) | Should -Match 'keymanager-0\.6\.0\.orc'
    }

    It 'is resumed by the same command: a -WhatIf rerun reads the journal (Resumed) and is not refused as JournalInUse' {
        $r = Invoke-KmSafeUpgrade -InventoryPath $Cluster.Inventory -BundlePath $Cluster.NewOrc -JournalPath $Journal -WhatIf -ErrorAction Stop
        $r.Resumed | Should -BeTrue
        $r.WhatIf | Should -BeTrue
    }
}
