# The default views, rendered by the console host of a pwsh on a real pseudo-terminal 80 and 120
# columns wide: every line fits, every column of the view is there with its whole header.

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    $script:Cluster = New-TestCluster -Nodes 2 -UpgradeIn 100000
    # The labels of each table view, from the format file the module ships.
    [xml]$format = Get-Content (Join-Path $ModuleDir 'OasisKeyManager.format.ps1xml') -Raw
    $script:Labels = @{}
    foreach ($view in $format.Configuration.ViewDefinitions.View) {
        if ($view.TableControl) { $Labels[$view.Name] = @($view.TableControl.TableHeaders.TableColumnHeader | ForEach-Object { $_.Label }) }
    }
    $script:Rendered = @{}
    foreach ($width in 80, 120) {
        $console = Invoke-InConsole -Columns $width -Script @"
Import-Module (Join-Path `$env:KM_PESTER_MODULE 'OasisKeyManager.psd1')
Set-Location '$($Cluster.Dir)'
`$nodes = Import-KmNode ./inventory.json
`$report = Test-KmReplication `$nodes.Socket
`$upgrade = Invoke-KmSafeUpgrade -InventoryPath ./inventory.json -BundlePath ./bundles/keymanager-0.6.0.orc -WhatIf 6>`$null
function Show(`$name, `$objects) { "=== `$name ==="; `$objects | Out-Default }
Show KmStatus (`$nodes | Get-KmStatus)
Show KmNode `$nodes
Show ReplicationReport `$report
Show ReplicationNodeResult `$report.Nodes
Show OrcBundle (Get-KmRuntimeBundle ./bundles/keymanager-0.6.0.orc)
Show KmDeployment (Get-KmUpgradeEpoch `$nodes[0].Socket -Version 0.6.0)
Show KmPolicyEntry (`$nodes | Get-KmPolicy)
Show LocalStateInfo (`$nodes | Get-KmLocalState)
Show UpgradeNodeResult `$upgrade.Nodes
'=== end ==='
"@
        $segments = @{}
        foreach ($m in [regex]::Matches($console.Output, '(?s)=== (\w+) ===\n(.*?)(?==== )')) { $segments[$m.Groups[1].Value] = $m.Groups[2].Value }
        $Rendered[$width] = $segments
    }
}

AfterAll { Remove-TestCluster $Cluster }

Describe 'Default views in a <Width>-column console' -ForEach @(@{ Width = 80 }, @{ Width = 120 }) {
    Context '<Type>' -ForEach @(
        @{ Type = 'KmStatus' }, @{ Type = 'KmNode' }, @{ Type = 'ReplicationReport' }, @{ Type = 'ReplicationNodeResult' },
        @{ Type = 'OrcBundle' }, @{ Type = 'KmDeployment' }, @{ Type = 'KmPolicyEntry' }, @{ Type = 'LocalStateInfo' }, @{ Type = 'UpgradeNodeResult' }
    ) {
        BeforeAll {
            $script:Text = $Rendered[$Width][$Type]
            $script:Lines = @($Text -split "`n" | Where-Object { $_.Trim() })
        }

        It 'is a table with its rows' {
            $Text | Should -Not -BeNullOrEmpty
            $Lines.Count | Should -BeGreaterOrEqual 3
            $Lines[1] | Should -Match '^-+( +-+)*\s*$' -Because "the second line is the header rule:`n$Text"
        }

        It 'fits the console: no line is wider than the console' {
            foreach ($l in $Lines) { $l.TrimEnd().Length | Should -BeLessOrEqual $Width -Because "line '$l'" }
        }

        It 'shows every column of the view with its whole header' {
            foreach ($label in $Labels[$Type]) {
                $Lines[0] | Should -Match "(^|\s)$([regex]::Escape($label))(\s|$)" -Because "column '$label' of the $Type view must show at $Width columns:`n$Text"
            }
        }
    }
}
