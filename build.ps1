#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests and publishes the OasisKeyManager module. A thin wrapper over dotnet.
.EXAMPLE
    ./build.ps1                 # Release build, module folder in ./out/OasisKeyManager
.EXAMPLE
    ./build.ps1 -Task Test      # the same tests as CI: dotnet test KmPs.sln
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Publish')]
    [string] $Task = 'Publish',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    [string] $OutputPath = (Join-Path $PSScriptRoot 'out/OasisKeyManager')
)
$ErrorActionPreference = 'Stop'
Push-Location $PSScriptRoot
try {
    switch ($Task) {
        'Build'   { dotnet build KmPs.sln -c $Configuration }
        'Test'    { dotnet test KmPs.sln -c $Configuration }
        'Publish' { dotnet publish src/KmPs/KmPs.csproj -c $Configuration -o $OutputPath }
    }
    if ($LASTEXITCODE -ne 0) { throw "dotnet $Task failed with exit code $LASTEXITCODE" }
    if ($Task -eq 'Publish') { Write-Host "Module ready: Import-Module $OutputPath/OasisKeyManager.psd1" }
}
finally { Pop-Location }
