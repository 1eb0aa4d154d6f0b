# A full Invoke-KmSafeUpgrade on a simulated 4-node cluster, the CI way: -Confirm:$false, a journal, -ErrorAction Stop.

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    # Short epochs; the deployment becomes active a few epochs after the nodes are up.
    $script:Cluster = New-TestCluster -Nodes 4 -EpochMs 400 -UpgradeIn 12
    $script:Before = @(Import-KmNode $Cluster.Inventory | Get-KmStatus)
    $script:Journal = Join-Path $Cluster.Dir 'upgrade-journal.json'
    $script:Info = $null
    $script:Result = Invoke-KmSafeUpgrade -InventoryPath $Cluster.Inventory -BundlePath $Cluster.NewOrc -Confirm:$false `
        -JournalPath $Journal -ErrorAction Stop -InformationVariable script:Info
}

AfterAll { Remove-TestCluster $Cluster }

Describe 'Invoke-KmSafeUpgrade on a simulated cluster' {
    It 'succeeds and reports every node on the new version with the old checksum' {
        $Result.Success | Should -BeTrue
        $Result.WhatIf | Should -BeFalse
        $Result.NewVersion | Should -Be '0.6.0'
        $Result.Checksum | Should -Be $Before[0].Checksum
        $Result.Nodes | Should -HaveCount 4
        foreach ($n in $Result.Nodes) {
            $n.BeforeVersion | Should -Be '0.5.0'
            $n.AfterVersion | Should -Be '0.6.0'
            $n.Status | Should -Be 'ready'
            $n.Checksum | Should -Be $Before[0].Checksum
        }
    }

    It 'upgraded half first: two nodes in each half, the first half''s state moved aside' {
        @($Result.Nodes | Where-Object Half -eq First) | Should -HaveCount 2
        @($Result.Nodes | Where-Object Half -eq Second) | Should -HaveCount 2
        foreach ($n in $Result.Nodes) { $n.BackupPath | Should -Exist }
    }

    It 'leaves every node ready on 0.6.0 with one checksum, as Get-KmStatus and Test-KmReplication see them' {
        $nodes = Import-KmNode $Cluster.Inventory
        @($nodes | Get-KmStatus | Where-Object Status -ne ready) | Should -HaveCount 0
        ($nodes | Get-KmStatus).RegisteredVersion | Sort-Object -Unique | Should -Be '0.6.0'
        $report = $nodes | Test-KmReplication -ExpectedVersion 0.6.0
        $report.Ok | Should -BeTrue
        $report.Checksum | Should -Be $Before[0].Checksum
    }

    It 'keeps the key material: the simulator''s auditor finds it on every node, read from the files alone' {
        $audit = (& dotnet $Simulator audit --dir $Cluster.Dir) -join "`n" | ConvertFrom-Json
        $LASTEXITCODE | Should -Be 0
        $audit.keyMaterialExists | Should -BeTrue
        $audit.holders | Should -Be 4
        $audit.expectedChecksum | Should -Be $Before[0].Checksum
        @($audit.nodes | Where-Object holdsKeyMaterial).name | Sort-Object | Should -Be @('km1', 'km2', 'km3', 'km4')
    }

    It 'points every config at one ORC whose digest is the given bundle''s' {
        $want = (Get-FileHash $Cluster.NewOrc -Algorithm SHA256).Hash
        foreach ($n in Import-KmNode $Cluster.Inventory) {
            $paths = @([regex]::Matches((Get-Content $n.ConfigPath -Raw), '"([^"]+\.orc)"') | ForEach-Object { $_.Groups[1].Value })
            $paths | Should -HaveCount 1
            $paths[0] | Should -BeLike '*keymanager-0.6.0.orc'
            (Get-FileHash $paths[0] -Algorithm SHA256).Hash | Should -Be $want
        }
    }

    It 'finishes its journal and releases the lock' {
        $Journal | Should -Exist
        Test-LockReleased "$Journal.lock" | Should -BeTrue
    }

    It 'tells the host the plan and the end: information records tagged PSHOST' {
        $text = @($Info | ForEach-Object { "$_" }) -join "`n"
        $text | Should -Match 'Plan:'
        $text | Should -Match 'Upgrade to 0\.6\.0 complete'
    }

    It 'renders its result and the per-node table in the default views' {
        $list = $Result | Out-String -Width 120
        $list | Should -Match 'Success\s*:\s*True'
        $table = $Result.Nodes | Out-String -Width 120
        foreach ($name in 'km1', 'km2', 'km3', 'km4') { $table | Should -Match "(?m)^$name\s+(First|Second)\s+0\.5\.0\s+0\.6\.0\s+ready" }
    }
}
