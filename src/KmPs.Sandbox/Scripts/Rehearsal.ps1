# The default sandbox rehearsal: the whole safe upgrade with Invoke-KmSafeUpgrade.
$nodes = @(Import-KmNode $InventoryPath)

'== Key manager nodes before the upgrade'
$nodes | Get-KmStatus

'== Dry run: the plan and every step (-WhatIf changes nothing)'
$null = Invoke-KmSafeUpgrade -Node $nodes -BundlePath $NewOrc -WhatIf

'== The safe upgrade'
$result = Invoke-KmSafeUpgrade -Node $nodes -BundlePath $NewOrc -Confirm:$Confirm -JournalPath "$Cluster/upgrade-journal.json"
$result
$result.Nodes

'== Final replication report (verified twice, one epoch apart)'
Test-KmReplication -Socket $nodes.Socket -ExpectedVersion $NewVersion -Repeat 2
$nodes | Get-KmStatus
