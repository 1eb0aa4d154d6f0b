# The operator guide's safe upgrade, step by step with the module's commands:
# keep half on the old version, upgrade the other half, wait for the upgrade epoch,
# verify replication, verify again, then upgrade the rest.
$nodes = @(Import-KmNode $InventoryPath)
$half = [Math]::Floor($nodes.Count / 2)
$first = @($nodes[$half..($nodes.Count - 1)])
$staying = @($nodes[0..($half - 1)])

'== Before the upgrade'
$nodes | Get-KmStatus | Out-Default
$deployment = Get-KmUpgradeEpoch $nodes[0].Socket -Version $NewVersion
"Version $NewVersion becomes active at epoch $($deployment.ValidFrom) (now $($deployment.CurrentEpoch))."

function Upgrade-Half($upgrade, $peers) {
    foreach ($n in $upgrade) {
        "== Upgrading $($n.Name): stop, wipe, swap the ORC, start"
        $n | Stop-KmNode -Confirm:$Confirm -ErrorAction Stop | Out-Default
        $n | Clear-KmLocalState -RequirePeer $peers -Confirm:$Confirm -ErrorAction Stop | Out-Default
        $n | Set-KmRuntimeBundle -Path $NewOrc -Confirm:$Confirm -ErrorAction Stop | Out-Default
        $n | Start-KmNode -Confirm:$Confirm -ErrorAction Stop | Out-Default
    }
}

Upgrade-Half $first $staying
'== Waiting for the upgrade epoch and for replication'
$null = Wait-KmNode $first.Socket -Until Epoch -Epoch $deployment.ValidFrom -ErrorAction Stop
$first | Wait-KmNode -Until Replicated -Version $NewVersion -ErrorAction Stop
'== Verify, then verify again one epoch later'
$check = Test-KmReplication $nodes.Socket -Repeat 2 -MinEpochs 1
$check | Out-Default
if (-not ($check | Where-Object { -not $_.Ok }) ) { '== Replication verified twice: upgrading the rest' } else { throw 'replication not verified; the rest stays on the old version' }

Upgrade-Half $staying $first
$staying | Wait-KmNode -Until Replicated -Version $NewVersion -ErrorAction Stop
'== Final replication report'
Test-KmReplication $nodes.Socket -ExpectedVersion $NewVersion | Out-Default
$nodes | Get-KmStatus | Out-Default
