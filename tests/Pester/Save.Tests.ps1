# Save-KmRuntimeBundle as an operator calls it: the simulator's release server (serve-releases, a
# stand-in for GitHub's release downloads) on 127.0.0.1 serving the cluster's new ORC, the nodes of
# the inventory as the trust root, and a real Ctrl+C in a console pwsh during a slow download.

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    $script:Cluster = New-TestCluster -Nodes 2 -UpgradeIn 100000

    # Starts `serve-releases` over a new folder holding the cluster's 0.6.0 bundle (the simulator's
    # nodes run the Testnet key manager id) as the asset of tag v0.6.0-testnet.
    function Start-ReleaseServer([string[]] $Extra = @()) {
        $dir = Join-Path $Cluster.Dir ('releases-' + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        $null = New-Item -ItemType Directory (Join-Path $dir 'v0.6.0-testnet')
        Copy-Item $Cluster.NewOrc (Join-Path $dir 'v0.6.0-testnet/keymanager.orc')
        $urlFile = Join-Path $dir 'url.txt'
        $log = Join-Path $dir 'requests.jsonl'
        $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
        foreach ($a in @($Simulator, 'serve-releases', '--dir', $dir, '--url-file', $urlFile, '--log', $log, '--parent-pid', $PID) + $Extra) { $psi.ArgumentList.Add($a) }
        # Its own pipes, never this pwsh's: a server holding the runner's stderr would keep the runner waiting for its end.
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.RedirectStandardInput = $true
        $p = [Diagnostics.Process]::Start($psi)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Test-Path $urlFile) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        [pscustomobject]@{ Process = $p; BaseUri = (Get-Content $urlFile -Raw).Trim(); Log = $log; Dir = $dir }
    }
    function Get-Requests($Server) { @(if (Test-Path $Server.Log) { Get-Content $Server.Log | ConvertFrom-Json }) }

    $script:Fast = Start-ReleaseServer
    # 1000 bytes a second: the 7.6 KB bundle takes about 8 s.
    $script:Slow = Start-ReleaseServer @('--bytes-per-sec', '1000')
    $script:Nodes = @(Import-KmNode $Cluster.Inventory)
}

AfterAll {
    foreach ($s in $Fast, $Slow) { if ($s) { $s.Process.Kill($true); $s.Process.WaitForExit() } }
    Remove-TestCluster $Cluster
}

Describe 'Save-KmRuntimeBundle' {
    It 'fetches the Testnet bundle of the piped nodes, matched with their deployment, ready for the upgrade' {
        $out = Join-Path $Cluster.Dir 'fetched'
        $null = New-Item -ItemType Directory $out
        $r = $Nodes | Save-KmRuntimeBundle 0.6.0 -BaseUri $Fast.BaseUri -Destination $out -WarningVariable warnings
        $r | Should -BeOfType ([KmPs.Core.Bundles.Download.SavedKmBundle])
        $r.Network | Should -Be 'Testnet'
        $r.Path | Should -Be (Join-Path $out 'keymanager-0.6.0-testnet.orc')
        $r.DeploymentVerified | Should -BeTrue
        $r.Node | Should -Be 'km1'
        $r.VerifiedAgainst | Should -Match 'deployment 0\.6\.0 .* read from km1'
        $warnings | Should -BeNullOrEmpty
        (Get-FileHash $r.Path).Hash | Should -Be (Get-FileHash $Cluster.NewOrc).Hash
        @(Get-ChildItem $out).Name | Should -Be @('keymanager-0.6.0-testnet.orc')
        (Get-KmRuntimeBundle $r.Path).IsValid | Should -BeTrue
        # The guide's next step takes the file as it is.
        { Invoke-KmSafeUpgrade -InventoryPath $Cluster.Inventory -BundlePath $r.Path -WhatIf 6>$null } | Should -Not -Throw
    }

    It 'its default view fits 80 columns' {
        $out = Join-Path $Cluster.Dir 'view'
        $null = New-Item -ItemType Directory $out
        $text = Save-KmRuntimeBundle 0.6.0-testnet -BaseUri $Fast.BaseUri -Destination $out 3>$null | Out-String -Width 80
        $lines = @($text -split "`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^Version\s+Network\s+Size\s+Verified\s+File'
        foreach ($l in $lines) { $l.TrimEnd().Length | Should -BeLessOrEqual 80 -Because "line '$l'" }
    }

    It 'without a node says that only the digests were verified' {
        $out = Join-Path $Cluster.Dir 'alone'
        $null = New-Item -ItemType Directory $out
        $r = Save-KmRuntimeBundle 0.6.0-testnet -BaseUri $Fast.BaseUri -Destination $out -WarningVariable warnings 3>$null
        $r.VerifiedAgainst | Should -Be 'bundle digests only'
        "$warnings" | Should -Match "Only the bundle's own digests were verified"
    }

    It '-WhatIf asks the server nothing and writes nothing' {
        $out = Join-Path $Cluster.Dir 'whatif'
        $null = New-Item -ItemType Directory $out
        $requests = (Get-Requests $Fast).Count
        Save-KmRuntimeBundle 0.6.0 -BaseUri $Fast.BaseUri -Destination $out -Socket $Nodes[0].Socket -WhatIf | Should -BeNullOrEmpty
        @(Get-ChildItem -Force $out) | Should -BeNullOrEmpty
        (Get-Requests $Fast).Count | Should -Be $requests
    }

    It 'a version that is not released is an error naming the address and status, and leaves nothing' {
        $out = Join-Path $Cluster.Dir 'missing'
        $null = New-Item -ItemType Directory $out
        Save-KmRuntimeBundle 0.9.9 -Network Testnet -BaseUri $Fast.BaseUri -Destination $out -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'BundleDownloadFailed,KmPs.Cmdlets.SaveKmRuntimeBundleCommand'
        $e[0].Exception.Message | Should -Match 'v0\.9\.9-testnet/keymanager\.orc.*HTTP 404'
        @(Get-ChildItem -Force $out) | Should -BeNullOrEmpty
    }
}

Describe 'Ctrl+C during a slow download' {
    BeforeAll {
        $script:Out = Join-Path $Cluster.Dir 'ctrlc'
        $null = New-Item -ItemType Directory $Out
        $script:Final = Join-Path $Out 'keymanager-0.6.0-testnet.orc'
        $marker = Join-Path $Cluster.Dir 'ctrlc-save-finally.txt'
        $script:Console = Invoke-InConsole -Keys "`u{3}" -After 'download-started' -KeysDelayMs 1500 -TimeoutSec 90 -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
'download-started'
try { Save-KmRuntimeBundle 0.6.0-testnet -BaseUri '$($Slow.BaseUri)' -Destination '$Out' }
finally { 'stopped' | Set-Content '$marker' }
'after-the-download'
"@
        $script:Marker = $marker
    }

    It 'stops at once: the finally block runs, nothing after it, progress was drawn' {
        $Console.KeysSent | Should -BeTrue
        $Marker | Should -Exist
        $Console.Output | Should -Not -Match 'after-the-download'
        $Console.Output | Should -Match 'Downloading keymanager-0\.6\.0-testnet\.orc'
    }

    It 'leaves no file under the final name, only the partial one' {
        $Final | Should -Not -Exist
        "$Final.partial" | Should -Exist
        (Get-Item "$Final.partial").Length | Should -BeLessThan (Get-Item $Cluster.NewOrc).Length
    }

    It 'the next call resumes the partial file with a Range request' {
        $have = (Get-Item "$Final.partial").Length
        $r = Save-KmRuntimeBundle 0.6.0-testnet -BaseUri $Slow.BaseUri -Destination $Out 3>$null
        $r.ResumedFrom | Should -Be $have
        (Get-FileHash $Final).Hash | Should -Be (Get-FileHash $Cluster.NewOrc).Hash
        "$Final.partial" | Should -Not -Exist
        @(Get-Requests $Slow | Where-Object { $_.Status -eq 206 -and $_.Range -eq "bytes=$have-" }).Count | Should -Be 1
    }
}
