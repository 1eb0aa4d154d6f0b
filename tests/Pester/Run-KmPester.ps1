#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs the Pester suite (tests/Pester/*.Tests.ps1) against the module as build.ps1 publishes it.
.DESCRIPTION
    Publishes the module with build.ps1 into a temp folder (or takes -ModulePath), imports Pester from
    the NuGet cache (restored by tests/KmPs.Module.Tests: PackageDownload Pester 6.2.0), and runs every
    *.Tests.ps1 here once. With -ResultPath it writes one JSON record per test (file, block and test
    names, result, error message and stack): the xunit bridge (tests/KmPs.Module.Tests/Pester) reads it so
    that `dotnet test` counts each Pester test.
.EXAMPLE
    dotnet pwsh tests/Pester/Run-KmPester.ps1              # publish, run, Pester's own console output
.EXAMPLE
    dotnet pwsh tests/Pester/Run-KmPester.ps1 -ModulePath ./out/OasisKeyManager -ResultPath ./pester.json
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $SimulatorDll,
    [string] $ResultPath,
    [string] $PesterVersion = '6.2.0',
    [string[]] $Path = @($PSScriptRoot)
)
$ErrorActionPreference = 'Stop'
$repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
$published = $null
if (-not $ModulePath) {
    $published = Join-Path ([IO.Path]::GetTempPath()) ('kmp-module-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    $ModulePath = Join-Path $published 'OasisKeyManager'
    & (Join-Path $repo 'build.ps1') -OutputPath $ModulePath | Out-Host
}
if (-not $SimulatorDll) {
    $SimulatorDll = @('debug', 'release' | ForEach-Object { Join-Path $repo "artifacts/bin/KmPs.Simulator/$_/KmPs.Simulator.dll" } | Where-Object { Test-Path $_ })[0]
    if (-not $SimulatorDll) { throw 'No built KmPs.Simulator.dll under artifacts/bin; run dotnet build src/KmPs.Simulator, or give -SimulatorDll.' }
}
$nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
$pester = Join-Path $nugetRoot "pester/$PesterVersion/tools/Pester.psd1"
if (-not (Test-Path $pester)) { throw "Pester $PesterVersion is not in the NuGet cache ($pester); run dotnet restore tests/KmPs.Module.Tests." }
Import-Module $pester -Force

$env:KM_PESTER_MODULE = (Resolve-Path $ModulePath).Path
$env:KM_PESTER_SIMULATOR = (Resolve-Path $SimulatorDll).Path
try {
    $config = New-PesterConfiguration
    $config.Run.Path = $Path
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    $config.Output.RenderMode = 'Plaintext'
    $run = Invoke-Pester -Configuration $config

    if ($ResultPath) {
        $records = foreach ($t in $run.Tests) {
            # Block names from the file's root down (expanded, as Pester shows them), then the test's.
            $names = [Collections.Generic.List[string]]::new()
            for ($b = $t.Block; $null -ne $b -and -not $b.IsRoot; $b = $b.Parent) { $names.Insert(0, $b.ExpandedName) }
            $names.Add($t.ExpandedName)
            $errors = @($t.ErrorRecord)
            [ordered]@{
                File       = [IO.Path]::GetFileName($t.ScriptBlock.File)
                Names      = $names.ToArray()
                Result     = [string]$t.Result
                DurationMs = [int]$t.Duration.TotalMilliseconds
                Message    = ($errors | ForEach-Object { $_.Exception.Message }) -join "`n"
                Stack      = ($errors | ForEach-Object { $_.ScriptStackTrace }) -join "`n"
            }
        }
        # Failures outside any test (a BeforeAll, a file that does not parse) fail the run, not one test.
        $containers = foreach ($c in $run.Containers) {
            [ordered]@{ Item = [string]$c.Item; Result = [string]$c.Result; Message = (@($c.ErrorRecord) | ForEach-Object { "$($_.Exception.Message)`n$($_.ScriptStackTrace)" }) -join "`n" }
        }
        [ordered]@{ Pester = $PesterVersion; PowerShell = $PSVersionTable.PSVersion.ToString(); DurationMs = [int]$run.Duration.TotalMilliseconds; Tests = @($records); Containers = @($containers) } |
            ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ResultPath
    }
    if ($run.FailedCount -gt 0 -or $run.FailedBlocksCount -gt 0 -or $run.FailedContainersCount -gt 0) { exit 1 }
}
finally {
    if ($published) { Remove-Item -Recurse -Force $published -ErrorAction SilentlyContinue }
}
