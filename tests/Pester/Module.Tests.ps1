# The published module folder: what imports, what it exports, and the help of every command.

BeforeDiscovery {
    # One test per command, named here so that the xunit bridge sees each one without running anything;
    # a test below checks this list is exactly what the module exports.
    $script:Commands = @(
        @{ Name = 'Get-KmStatus' }, @{ Name = 'Get-KmPolicy' }, @{ Name = 'ConvertFrom-KmExtraInfo' }, @{ Name = 'New-KmNode' }, @{ Name = 'Import-KmNode' },
        @{ Name = 'Clear-KmLocalState' }, @{ Name = 'Restore-KmLocalState' }, @{ Name = 'Get-KmLocalState' }, @{ Name = 'Stop-KmNode' },
        @{ Name = 'Start-KmNode' }, @{ Name = 'Wait-KmNode' }, @{ Name = 'Get-KmUpgradeEpoch' }, @{ Name = 'Test-KmReplication' },
        @{ Name = 'Find-KmUpgradeProblem' }, @{ Name = 'Get-KmRuntimeBundle' }, @{ Name = 'Set-KmRuntimeBundle' }, @{ Name = 'Save-KmRuntimeBundle' },
        @{ Name = 'Invoke-KmSafeUpgrade' }
    )
}

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    $script:ManifestData = Import-PowerShellDataFile $Manifest
    $script:Exported = @($ManifestData.CmdletsToExport) + @($ManifestData.FunctionsToExport)
    $script:Common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'The module as build.ps1 publishes it' {
    It 'imports in a fresh pwsh from the published folder, with exactly the manifest''s commands' {
        $child = Invoke-ChildPwsh -Script @'
$ErrorActionPreference = 'Stop'
$m = Import-Module (Join-Path $env:KM_PESTER_MODULE 'OasisKeyManager.psd1') -PassThru
"base=$($m.ModuleBase)"
"version=$($m.Version)"
"nested=$(($m.NestedModules | ForEach-Object { $_.Path }) -join ',')"
foreach ($c in Get-Command -Module OasisKeyManager) { "command=$($c.CommandType):$($c.Name)" }
'@
        $child.ExitCode | Should -Be 0 -Because $child.Error
        $child.Error | Should -BeNullOrEmpty
        $lines = $child.Output -split "`n" | ForEach-Object Trim
        $lines | Should -Contain "base=$ModuleDir"
        $lines | Should -Contain "version=$($ManifestData.ModuleVersion)"
        $lines | Where-Object { $_ -like 'nested=*' } | Should -Be "nested=$(Join-Path $ModuleDir 'OasisKeyManager.psm1')"
        $commands = @($lines | Where-Object { $_ -like 'command=*' } | ForEach-Object { $_.Substring(8) })
        $expected = @($ManifestData.CmdletsToExport | ForEach-Object { "Cmdlet:$_" }) + @($ManifestData.FunctionsToExport | ForEach-Object { "Function:$_" })
        ($commands | Sort-Object) | Should -Be ($expected | Sort-Object)
    }

    It 'exports the script helpers of Invoke-KmSafeUpgrade not at all' {
        $names = (Get-Command -Module OasisKeyManager).Name
        $names | Should -Not -Contain 'Stop-KmUpgradeRun'
        $names | Should -Not -Contain 'Invoke-KmUpgradeStep'
        $names | Should -Not -Contain 'Get-KmFirst'
    }

    It 'holds its manifest, DLL, psm1, format views and en-US help in the folder' {
        foreach ($f in 'OasisKeyManager.psd1', 'KmPs.dll', 'KmPs.Core.dll', 'OasisKeyManager.psm1', 'OasisKeyManager.format.ps1xml', 'en-US/KmPs.dll-Help.xml') {
            Join-Path $ModuleDir $f | Should -Exist
        }
    }

    It 'names in this file every command the module exports (so each has its help test)' {
        $tested = @($Commands | ForEach-Object { $_.Name })
        (Get-Command -Module OasisKeyManager).Name | Sort-Object | Should -Be ($tested | Sort-Object)
        $Exported | Sort-Object | Should -Be ($tested | Sort-Object)
    }
}

Describe 'Get-Help -Full of <Name>' -ForEach $Commands {
    BeforeAll {
        $script:Help = Get-Help $Name -Full
        $script:Command = Get-Command $Name
        $script:Own = @($Command.Parameters.Keys | Where-Object { $_ -notin $Common })
    }

    It 'has a synopsis and a description of its own' {
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        # Without help, Get-Help makes the synopsis up from the syntax.
        $Help.Synopsis.Trim() | Should -Not -BeLike "$Name *"
        ($Help.Description | Out-String).Trim().Length | Should -BeGreaterThan 40
    }

    It 'describes every parameter, and only real ones' {
        $documented = @($Help.parameters.parameter | ForEach-Object { $_.name })
        $documented | Where-Object { $_ -notin $Common } | Sort-Object | Should -Be ($Own | Sort-Object)
        foreach ($p in @($Help.parameters.parameter | Where-Object { $_.name -in $Own })) {
            ($p.description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$($p.name) needs a description"
        }
    }

    It 'has at least two examples, each with code and an explanation (its title or its remarks)' {
        $examples = @($Help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($e in $examples) {
            $e.code | Should -Match ([regex]::Escape($Name)) -Because 'an example shows the command'
            # "-- Example 1: what it does --" or a remark; a bare "Example 1" explains nothing.
            $title = ($e.title -replace '^[-\s]*Example \d+:?\s*', '' -replace '[-\s]*$', '')
            ($title + ($e.remarks | Out-String)).Trim() | Should -Not -BeNullOrEmpty -Because "example '$($e.code)' needs an explanation"
        }
    }
}
