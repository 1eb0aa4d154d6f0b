@{
    RootModule           = 'KmPs.dll'
    NestedModules        = @('OasisKeyManager.psm1')
    ModuleVersion        = '0.1.0'
    GUID                 = '5f3c0a4e-8d7b-4b8e-9a51-2f6c1d0e7b93'
    Author               = 'OasisKeyManager contributors'
    CompanyName          = 'OasisKeyManager'
    Copyright            = '(c) OasisKeyManager contributors. Apache-2.0.'
    Description          = 'Upgrade Oasis Network key manager nodes without losing the key material: status over the control socket, guarded state wipes, ORC bundle swaps and the half/half safe upgrade.'
    PowerShellVersion    = '7.4'   # KmPs.dll targets net8.0: PowerShell 7.4 is the first on .NET 8
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('OasisKeyManager.format.ps1xml')
    CmdletsToExport      = @(
        'Get-KmStatus'
        'Get-KmPolicy'
        'ConvertFrom-KmExtraInfo'
        'New-KmNode'
        'Import-KmNode'
        'Clear-KmLocalState'
        'Restore-KmLocalState'
        'Get-KmLocalState'
        'Stop-KmNode'
        'Start-KmNode'
        'Wait-KmNode'
        'Get-KmUpgradeEpoch'
        'Test-KmReplication'
        'Find-KmUpgradeProblem'
        'Get-KmRuntimeBundle'
        'Set-KmRuntimeBundle'
        'Save-KmRuntimeBundle'
    )
    FunctionsToExport    = @('Invoke-KmSafeUpgrade')
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Oasis', 'KeyManager', 'SGX', 'Upgrade', 'Linux')
            ProjectUri = 'https://github.com/oasis-km/OasisKeyManager'
        }
    }
}
