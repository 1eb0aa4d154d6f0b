# Tab completion as the console's Tab key asks for it (TabExpansion2): parameters, enum values, paths,
# and property names after a pipe (from the commands' [OutputType]).

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    $script:Cluster = New-TestCluster -Nodes 2 -NoStart
    Push-Location $Cluster.Dir
    Copy-Item $Cluster.Inventory ./km.json

    function Get-Completion([string] $Line) { @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches) }
}

AfterAll {
    Pop-Location
    Remove-TestCluster $Cluster
}

Describe 'Tab completion' {
    It 'completes <Line> to <Expected>' -ForEach @(
        @{ Line = 'Get-KmStatus -Ti'; Expected = '-TimeoutSec' }
        @{ Line = 'Get-KmStatus -R'; Expected = '-Raw' }
        @{ Line = 'Test-KmReplication -Q'; Expected = '-Quiet' }
        @{ Line = 'Clear-KmLocalState -Req'; Expected = '-RequirePeer' }
        @{ Line = 'Invoke-KmSafeUpgrade -Inv'; Expected = '-InventoryPath' }
        @{ Line = 'Invoke-KmSafeUpgrade -First'; Expected = '-FirstHalfCount' }
        @{ Line = 'Invoke-KmSafeUpgrade -InventoryPath ./km.json -BundlePath ./bundles/keymanager-0.6'; Expected = './bundles/keymanager-0.6.0.orc' }
        @{ Line = 'Import-KmNode ./km.j'; Expected = './km.json' }
    ) {
        (Get-Completion $Line).CompletionText | Should -Contain $Expected
    }

    It 'offers the conditions of Wait-KmNode -Until' {
        (Get-Completion 'Wait-KmNode -Until ').CompletionText | Should -Be @('Epoch', 'Ready', 'Replicated')
    }

    It 'offers both ORCs for Get-KmRuntimeBundle ./bundles/' {
        (Get-Completion 'Get-KmRuntimeBundle ./bundles/').CompletionText | Should -Be @('./bundles/keymanager-0.5.0.orc', './bundles/keymanager-0.6.0.orc')
    }

    It 'completes KmNode properties after Import-KmNode ... | Where-Object' {
        $names = (Get-Completion 'Import-KmNode ./km.json | Where-Object ').CompletionText
        $names | Should -Contain 'Name'
        $names | Should -Contain 'DataDir'
        $names | Should -Contain 'Socket'
    }

    It 'completes KmStatus properties after ... | Get-KmStatus | Where-Object St' {
        (Get-Completion 'Import-KmNode ./km.json | Get-KmStatus | Where-Object St').CompletionText | Should -Contain 'Status'
    }

    It 'completes the UpgradeResult properties of $r = Invoke-KmSafeUpgrade ...; $r.' {
        (Get-Completion '$r = Invoke-KmSafeUpgrade -InventoryPath ./km.json -BundlePath x.orc; $r.Succ').CompletionText | Should -Contain 'Success'
    }
}

Describe 'Node names' {
    It 'completes the node names of the inventory after Import-KmNode ./km.json -Name' {
        (Get-Completion 'Import-KmNode ./km.json -Name ').CompletionText | Should -Be @('km1', 'km2')
        (Get-Completion 'Import-KmNode -Path ./km.json -Name km2').CompletionText | Should -Be @('km2')
    }

    It 'offers nothing for a file that is not there' {
        Get-Completion 'Import-KmNode ./missing.json -Name ' | Where-Object ResultType -eq 'ParameterValue' | Should -BeNullOrEmpty
    }

    It 'imports only the named nodes, and names a missing one' {
        $errs = $null
        $nodes = @(Import-KmNode ./km.json -Name km2, nope -ErrorAction SilentlyContinue -ErrorVariable errs)
        $nodes.Name | Should -Be @('km2')
        $errs[0].FullyQualifiedErrorId | Should -Be 'NodeNotInInventory,KmPs.Cmdlets.ImportKmNodeCommand'
        @(Import-KmNode ./km.json -Name 'KM*').Count | Should -Be 2
    }
}
