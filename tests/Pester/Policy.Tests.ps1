# Get-KmPolicy as a user types it, against a simulated 25.6 cluster whose policy does not yet know the
# new version's enclave, with the signers' update scheduled (shown as next_policy).

BeforeAll {
    . $PSScriptRoot/KmPester.Helpers.ps1
    Import-Module $Manifest -Force
    $script:Cluster = New-TestCluster -Nodes 2 -UpgradeIn 100000 -Generation 25.6 -PolicyNotUpdated
    # The update: serial 2, in effect in 100000 epochs, shown as next_policy from epoch 1 on.
    $null = Invoke-Simulator cluster policy --dir $Cluster.Dir --allow --in 100000 --show-from 1
    $script:Old = [KmPs.Core.Bundles.OrcBundle]::Open($Cluster.OldOrc).EnclaveIdentity
    $script:New = [KmPs.Core.Bundles.OrcBundle]::Open($Cluster.NewOrc).EnclaveIdentity
    Push-Location $Cluster.Dir
}

AfterAll {
    Pop-Location
    Remove-TestCluster $Cluster
}

Describe 'Get-KmPolicy' {
    It 'gives one row per enclave of the policy in effect, then of the next policy, from piped inventory nodes' {
        $rows = @(Import-KmNode ./inventory.json | Get-KmPolicy)
        $now = @($rows | Where-Object { -not $_.IsNext })
        $next = @($rows | Where-Object IsNext)
        $now | Should -HaveCount 1
        $now[0].Serial | Should -Be 1
        $now[0].Applies | Should -Be 'now'
        $now[0].Enclave | Should -Be $Old
        $now[0].MayReplicate | Should -HaveCount 0
        $next | Should -HaveCount 2
        $next[0].Serial | Should -Be 2
        $next[0].Applies | Should -Be "epoch $($next[0].AppliesAtEpoch)"
        ($next | Where-Object MrEnclave -eq $Old.MrEnclave).MayReplicate | Should -Be @($New)
        ($next | Where-Object MrEnclave -eq $New.MrEnclave).MayReplicateFrom | Should -Be @($Old)
        $rows | ForEach-Object { $_.SignerCount | Should -Be 1 }
    }

    It 'says the new enclave has no entry yet: nothing to select in the policy in effect' {
        Get-KmPolicy ./nodes/km1/data | Where-Object { -not $_.IsNext -and $_.MrEnclave -eq $New.MrEnclave } | Should -BeNullOrEmpty
    }

    It 'gives the policy checksum the enclaves register' {
        $registered = (Get-KmStatus ./nodes/km1/data).PolicyChecksum
        # A 25.6 enclave registers the checksum of the scheduled policy (cached.rs Policy::init).
        (Get-KmPolicy ./nodes/km1/data | Where-Object IsNext | Select-Object -First 1).PolicyChecksum | Should -Be $registered
    }

    It 'gives the raw status in oasis-node''s JSON shape with -Raw' {
        $json = Get-KmPolicy ./nodes/km2/data -Raw | ConvertTo-Json -Depth 20 | ConvertFrom-Json
        $json.id | Should -Be (Import-KmNode ./inventory.json)[0].RuntimeId
        $json.policy.policy.serial | Should -Be 1
        $json.next_policy.policy.serial | Should -Be 2
        $key = [Convert]::ToBase64String([Convert]::FromHexString($Old.ToString()))
        $json.next_policy.policy.enclaves.$key.may_replicate | Should -Be @([Convert]::ToBase64String([Convert]::FromHexString($New.ToString())))
    }

    It 'stops a script on a runtime without a key manager status: KeyManagerStatusUnavailable' {
        $ErrorActionPreference = 'Stop'
        $caught = $null
        # The Mainnet key manager's id, asked of a Testnet cluster's node.
        try { Get-KmPolicy ./nodes/km1/data -RuntimeId 4000000000000000000000000000000000000000000000008c5ea5e49b4bc9ac }
        catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'KeyManagerStatusUnavailable,KmPs.Cmdlets.GetKmPolicyCommand'
        $caught.Exception.Message | Should -Match 'no such status'
    }
}
