# The default sandbox rehearsal: the whole safe upgrade with Invoke-KmSafeUpgrade.
# (Each result goes to Out-Default on its own so every type gets its own table view.)
$nodes = @(Import-KmNode $InventoryPath)

'== Key manager nodes before the upgrade'
$nodes | Get-KmStatus | Out-Default

'== Dry run: the plan and every step (-WhatIf changes nothing)'
$null = Invoke-KmSafeUpgrade -Node $nodes -BundlePath $NewOrc -WhatIf

'== The safe upgrade'
$result = Invoke-KmSafeUpgrade -Node $nodes -BundlePath $NewOrc -Confirm:$Confirm -JournalPath "$Cluster/upgrade-journal.json"
$result | Out-Default
$result.Nodes | Out-Default

'== Final replication report (verified twice, one epoch apart)'
Test-KmReplication -Socket $nodes.Socket -ExpectedVersion $NewVersion -Repeat 2 | Out-Default
$nodes | Get-KmStatus | Out-Default
