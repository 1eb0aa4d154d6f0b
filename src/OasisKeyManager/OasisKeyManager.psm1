# Script part of OasisKeyManager. It composes the compiled cmdlets (KmPs.dll) and must run in a
# minimal engine: only the language, .NET, $PSCmdlet methods and this module's own commands
# (no Write-Verbose, Start-Sleep, ConvertTo-Json...). The logic it needs beyond composing commands
# (plan, journal, pre-flight) lives in KmPs.Core.Orchestration, where it is unit-tested.
Set-StrictMode -Version 3.0

function Invoke-KmSafeUpgrade {
    <#
    .SYNOPSIS
    Upgrades key manager nodes to a new ORC with the operator guide's half/half procedure, never losing the key material.

    .DESCRIPTION
    Invoke-KmSafeUpgrade runs the safe key manager upgrade from the Oasis operator guide:
    keep about half of the nodes on the old version, upgrade the other half (stop, wipe the sealed
    state, swap the ORC in the config, start), wait for the upgrade epoch, verify replication,
    verify again at least -VerifyEpochs epochs later, and only then upgrade the rest the same way,
    ending with a final verification of all nodes.

    Before touching anything it runs a pre-flight and reports every problem at once: fewer than two
    nodes (one node would lose the keys), nodes not ready or disagreeing on the checksum, an ORC that
    is invalid, of another runtime, or of a version that is not deployed, configs that do not name
    exactly one key manager bundle, nodes without a lifecycle.

    Every destructive step (stop, wipe, config change) asks first (ConfirmImpact High; Yes to All
    is honoured; -Confirm:$false for automation). -WhatIf prints every step and changes nothing.
    Each completed step is written to a journal before the next starts; running the same command
    again resumes where it stopped. Before resuming it looks at every node the journal says it
    touched (running? state present? the wipe's backup still there? config on the new bundle?) and
    does again what is no longer true: a node started by hand after its stop is stopped again, a
    node rolled back with Restore-KmLocalState is upgraded again; a state that matches no step of
    the plan is refused (ErrorId ResumeStateMismatch). The ORC's digest is pinned when the run is
    planned: every config is pointed at a verified copy beside the node's bundle, and a file
    changed since is refused (BundleChanged). Any failure stops the run
    at once, leaves the untouched nodes alone, and says which node is in which state and what to do.

    Nodes on other machines (with a Session, or a HostName in the inventory file, for which an SSH
    remoting session is opened, and closed again at the end) are upgraded the same way, mixed with
    local nodes: each of their steps runs on their machine through the session, and the new ORC is
    copied there and verified by its digest. A lost session fails that node's step: the run stops.

    .PARAMETER Node
    The key manager nodes (from Import-KmNode or New-KmNode). Pipe them in or pass an array. Nodes
    read from an inventory file must come with every entry of that file: a bad entry (an error of
    Import-KmNode) or one filtered out is refused (ErrorId InventoryIncomplete), so that the run
    never reports "all nodes" over a subset. Entries that turn out to be one node (one identity.node,
    reached under two names) are refused by the pre-flight.

    .PARAMETER InventoryPath
    Read the nodes from this inventory file (.json or .psd1) instead of -Node.

    .PARAMETER BundlePath
    The new key manager ORC bundle.

    .PARAMETER JournalPath
    The journal file. Default: beside the inventory (<inventory>.upgrade-journal.json), else
    km-upgrade-journal.json in the current directory.
    While a run changes nodes it holds <journal>.lock: a second run over the same journal (another
    terminal, a retried CI job) is refused with ErrorId JournalInUse before it touches anything.

    .PARAMETER FirstHalfCount
    How many nodes to upgrade first (default: half, rounded down). At least one node always stays on
    the old version until the first half is verified.

    .PARAMETER VerifyEpochs
    Epochs between the first and the second verification (default 1). Real networks may warrant
    waiting the attestation age.

    .PARAMETER TimeoutSec
    Timeout of each wait for the upgrade epoch, for replication and between verifications (default 7200).

    .PARAMETER NodeTimeoutSec
    Timeout of each node stop and start (default 300).

    .EXAMPLE
    Invoke-KmSafeUpgrade -InventoryPath ./km.json -BundlePath ./keymanager-0.6.0.orc -WhatIf

    Shows the plan and every step it would take; changes nothing.

    .EXAMPLE
    Import-KmNode ./km.json | Invoke-KmSafeUpgrade -BundlePath ./keymanager-0.6.0.orc

    Runs the upgrade, asking before each stop, wipe and config change.

    .EXAMPLE
    Invoke-KmSafeUpgrade -InventoryPath ./km.json -BundlePath ./keymanager-0.6.0.orc -Confirm:$false -JournalPath /var/lib/km/upgrade.json -Verbose

    Unattended (CI) run with a journal; run the same command again after a failure to resume.

    .EXAMPLE
    Invoke-KmSafeUpgrade -InventoryPath ./km-hosts.psd1 -BundlePath ./keymanager-0.6.0.orc

    An inventory whose nodes have HostName (and UserName): one SSH remoting session per host is
    opened, every step of a node runs on its machine (with OasisKeyManager installed there), the ORC
    is copied to each host, and the sessions are closed at the end.

    .OUTPUTS
    KmPs.Orchestration.UpgradeResult
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High', DefaultParameterSetName = 'Node')]
    [OutputType([KmPs.Orchestration.UpgradeResult])]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true, ParameterSetName = 'Node')]
        [KmPs.Inventory.KmNode[]] $Node,

        [Parameter(Mandatory = $true, ParameterSetName = 'Inventory')]
        [ValidateNotNullOrEmpty()]
        [string] $InventoryPath,

        [Parameter(Mandatory = $true, Position = 0)]
        [Alias('Path', 'OrcPath')]
        [ValidateNotNullOrEmpty()]
        [string] $BundlePath,

        [string] $JournalPath,

        [ValidateRange(1, 1000)]
        [int] $FirstHalfCount,

        [ValidateRange(1, 1000)]
        [int] $VerifyEpochs = 1,

        [ValidateRange(1, 604800)]
        [int] $TimeoutSec = 7200,

        [ValidateRange(1, 86400)]
        [int] $NodeTimeoutSec = 300
    )

    begin {
        $collected = [System.Collections.Generic.List[KmPs.Inventory.KmNode]]::new()
    }

    process {
        if ($PSCmdlet.ParameterSetName -eq 'Node') { foreach ($n in $Node) { $collected.Add($n) } }
    }

    end {
        # Sessions this command opened (HostName nodes of -InventoryPath) are closed when it ends, however it ends.
        $ownSessions = [System.Collections.Generic.List[object]]::new()
        # The journal holds the run's lock once it begins; released however the run ends.
        $journal = $null
        try {
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $paths = $ExecutionContext.SessionState.Path
            if ($PSCmdlet.ParameterSetName -eq 'Inventory') {
                $InventoryPath = $paths.GetUnresolvedProviderPathFromPSPath($InventoryPath)
                $importErrors = $null
                foreach ($n in @(Import-KmNode -Path $InventoryPath -ErrorAction SilentlyContinue -ErrorVariable importErrors)) {
                    $collected.Add($n)
                    if ($null -ne $n.Session -and -not $ownSessions.Contains($n.Session)) { $ownSessions.Add($n.Session) }
                }
                if (@($importErrors).Count -gt 0) { Stop-KmUpgradeRun $PSCmdlet @($importErrors)[0] }
            }
            $nodes = $collected.ToArray()
            # Nodes piped from an inventory file must be all of its entries: a bad entry (an error of
            # Import-KmNode) or a filtered one would leave a node out of a run that reports "all nodes".
            $arrived = [System.Collections.Generic.HashSet[string]]::new()
            foreach ($n in $nodes) { $null = $arrived.Add("$($n.InventoryPath)|$($n.Name)") }
            $missing = [System.Collections.Generic.List[string]]::new()
            foreach ($n in @($nodes | Where-Object InventoryPath)) {
                foreach ($name in $n.InventoryNames) {
                    $label = "$name (in $($n.InventoryPath))"
                    if (-not $arrived.Contains("$($n.InventoryPath)|$name") -and -not $missing.Contains($label)) { $missing.Add($label) }
                }
            }
            if (@($missing).Count -gt 0) {
                Stop-KmUpgradeRun $PSCmdlet ("The inventory is incomplete: " + (@($missing) -join ', ') + " did not arrive (a bad entry, or filtered out); nothing was changed. " +
                    "Fix or remove the entry in the inventory file, so that the run covers every node it lists.") 'InventoryIncomplete' 'InvalidData'
            }
            $bundle = $paths.GetUnresolvedProviderPathFromPSPath($BundlePath)
            if (-not $JournalPath) {
                $JournalPath = if ($InventoryPath) { "$InventoryPath.upgrade-journal.json" }
                               else { [System.IO.Path]::Combine($paths.CurrentFileSystemLocation.ProviderPath, 'km-upgrade-journal.json') }
            }
            $JournalPath = $paths.GetUnresolvedProviderPathFromPSPath($JournalPath)
            $whatIf = [bool]$WhatIfPreference

            # ---- journal (read-only under -WhatIf) and pre-flight: nothing is changed before this passes
            $version = $null
            $bundleDigest = $null
            $bundleFileDigest = $null
            try {
                $orc = [KmPs.Bundles.OrcBundle]::Open($bundle); $version = $orc.Version; $bundleDigest = $orc.ContentDigest
                # Every SetBundle checks the file is still the one planned with (a CI workspace may be rebuilt mid-run).
                $bundleFileDigest = [KmPs.Bundles.BundleStaging]::Digest($bundle)
            }
            catch { $version = $null }
            $journal = $null
            $midUpgrade = [System.Collections.Generic.HashSet[string]]::new()
            if ($null -ne $version) {
                $planId = [KmPs.Orchestration.UpgradePlanner]::PlanId($nodes, $bundle, $version, $bundleDigest)
                try { $journal = [KmPs.Orchestration.UpgradeJournal]::Open($JournalPath, $planId, $version.ToString(), -not $whatIf) }
                catch { Stop-KmUpgradeRun $PSCmdlet $_ 'JournalUnusable' }
                foreach ($n in $journal.TouchedNodes) { $null = $midUpgrade.Add($n) }
            }
            # Remote nodes are read on their machines through their sessions, all nodes at once.
            $cancel = [System.Threading.CancellationTokenSource]::new()
            $preflight = Invoke-KmAwait ([KmPs.Orchestration.UpgradePreflight]::RunAsync($nodes, $bundle, $midUpgrade, [KmPs.Remoting.NodeReader]::new(),
                [TimeSpan]::FromSeconds(15), $cancel.Token)) $cancel
            if (-not $preflight.Ok) {
                Stop-KmUpgradeRun $PSCmdlet ("Pre-flight found problems; nothing was changed:`n  - " + ($preflight.Problems -join "`n  - ")) 'PreflightFailed' 'InvalidOperation'
            }

            if ($null -ne $journal -and $null -ne $journal.Halves) {
                $plan = [KmPs.Orchestration.UpgradePlanner]::Resume($nodes, $journal.Halves, $version, $bundle, $preflight.RuntimeId, $preflight.UpgradeEpoch, $VerifyEpochs, $bundleDigest)
                $PSCmdlet.WriteVerbose("Resuming from $JournalPath ($($journal.Completed.Count) step(s) done).")
            }
            else {
                $first = if ($PSBoundParameters.ContainsKey('FirstHalfCount')) { [Nullable[int]]$FirstHalfCount } else { $null }
                try {
                    $plan = [KmPs.Orchestration.UpgradePlanner]::Plan($nodes, $preflight.Upgraded, $version, $bundle, $preflight.RuntimeId, $preflight.UpgradeEpoch, $first, $VerifyEpochs, $bundleDigest)
                }
                catch { Stop-KmUpgradeRun $PSCmdlet $_ 'PlanRefused' }
            }

            $byName = @{}
            foreach ($n in $nodes) { $byName[$n.Name] = $n }
            $result = [KmPs.Orchestration.UpgradeResult]::new()
            $result.NewVersion = $plan.NewVersion
            $result.UpgradeEpoch = $plan.UpgradeEpoch
            $result.Plan = $plan
            $result.JournalPath = $JournalPath
            $result.Resumed = ($null -ne $journal -and $journal.Resumed)
            $result.WhatIf = $whatIf
            foreach ($n in $nodes) {
                $r = [KmPs.Orchestration.UpgradeNodeResult]::new()
                $r.Name = $n.Name
                $r.Half = if ($plan.FirstHalf -contains $n.Name) { 'First' } elseif ($plan.SecondHalf -contains $n.Name) { 'Second' } else { 'Skipped' }
                if ($preflight.Statuses.ContainsKey($n.Name)) { $r.BeforeVersion = [string]$preflight.Statuses[$n.Name].RegisteredVersion }
                $result.Nodes.Add($r)
            }

            Write-KmHostLine $PSCmdlet ("Plan: " + $plan.ToString())
            if ($preflight.CurrentEpoch -ge $plan.UpgradeEpoch) {
                Write-KmHostLine $PSCmdlet "The upgrade epoch $($plan.UpgradeEpoch) has already passed (now $($preflight.CurrentEpoch)): upgraded nodes replicate at once."
            }
            foreach ($s in $plan.Steps) { $PSCmdlet.WriteVerbose("step $($s.Index): [$($s.Phase)] $($s.Description)") }

            if ($whatIf) {
                foreach ($s in $plan.Steps) { $null = $PSCmdlet.ShouldProcess($s.Node, $s.Description) }
                $result.Duration = $clock.Elapsed
                return $result
            }

            try { $journal.Begin($plan) }
            catch { Stop-KmUpgradeRun $PSCmdlet $_ 'JournalUnusable' }
            if ($result.Resumed) {
                # The journal says what this tool did; the nodes say what is true now. A node restarted by
                # hand, or rolled back with Restore-KmLocalState, has its steps done again.
                $seen = @(foreach ($name in $journal.TouchedNodes) { if ($byName.ContainsKey($name)) { Get-KmNodeObservation $byName[$name] $plan $journal } })
                $doneKeys = [string[]]@($journal.Completed | ForEach-Object { $_.Key })
                $decision = [KmPs.Orchestration.ResumeCheck]::Decide($plan, $doneKeys, [KmPs.Orchestration.NodeObservation[]]$seen)
                foreach ($o in $seen) { $PSCmdlet.WriteVerbose("Resume: found $o") }
                foreach ($note in $decision.Notes) { Write-KmHostLine $PSCmdlet "Resume: $note"; $PSCmdlet.WriteVerbose("Resume: $note") }
                if ($decision.Refusal) {
                    Stop-KmUpgradeRun $PSCmdlet ("Cannot resume: $($decision.Refusal)`n" + (Get-KmUpgradeState $plan $journal $byName ([KmPs.Orchestration.UpgradeStep]::new(0, 'resume', 'resume', 'Resume', 'resume')))) 'ResumeStateMismatch' 'InvalidOperation'
                }
                $journal.Forget([string[]]$decision.Redo)
                foreach ($k in $decision.FoundDone) { $journal.Record($k, 'found done when resuming') }
            }
            $verifiedAt = 0
            $stoppedAt = @{}
            # A resumed run whose second half is untouched verifies the first half again before starting it
            # (once the second half has begun, every wipe's own guard checks the staying first half).
            $reverify = [bool]$result.Resumed -and -not @($journal.TouchedNodes | Where-Object { $plan.SecondHalf -contains $_ }).Count
            $total = $plan.Steps.Count
            foreach ($step in $plan.Steps) {
                if ($journal.IsDone($step.Key)) {
                    $PSCmdlet.WriteVerbose("step $($step.Index) already done: $($step.Description)")
                    if ($step.Action -eq 'Verify' -and $step.Phase -eq 'first') {
                        $done = Get-KmFirst @($journal.Completed | Where-Object Key -eq $step.Key)
                        if ($done -and $done.Detail) { $verifiedAt = [uint64]$done.Detail }
                    }
                    continue
                }
                if ($reverify -and $step.Phase -eq 'second') {
                    # A resumed run trusts no earlier verification before touching the second half:
                    # the first half may have changed while no run was watching.
                    $reverify = $false
                    try { $null = Test-KmUpgradeReplication $plan $byName $false }
                    catch {
                        Stop-KmUpgradeRun $PSCmdlet ("Before resuming with the second half, the first half no longer verifies: $($_.Exception.Message)`n" +
                            (Get-KmUpgradeState $plan $journal $byName $step)) 'UpgradeStopped' 'OperationStopped'
                    }
                    $PSCmdlet.WriteVerbose('Resumed run: the first half verified again before the second half.')
                }
                $progress = [System.Management.Automation.ProgressRecord]::new(10, "Safe upgrade to $($plan.NewVersion)", "step $($step.Index)/${total}: $($step.Description)")
                $progress.PercentComplete = [int](100 * ($step.Index - 1) / $total)
                $PSCmdlet.WriteProgress($progress)

                if ($step.IsDestructive -and -not $PSCmdlet.ShouldProcess($step.Node, $step.Description)) {
                    Stop-KmUpgradeRun $PSCmdlet ("You declined: $($step.Description). " + (Get-KmUpgradeState $plan $journal $byName $step)) 'UpgradeDeclined' 'OperationStopped'
                }
                $detail = $null
                $started = [DateTime]::UtcNow
                $journal.Starting($step.Key)
                try {
                    $detail = Invoke-KmUpgradeStep $step $plan $byName $result ([ref]$verifiedAt) $TimeoutSec $NodeTimeoutSec $VerifyEpochs $bundleFileDigest
                }
                catch [System.Management.Automation.PipelineStoppedException] { throw }
                catch {
                    # The step's own error (say WipeRefused) stays reachable as the InnerException, for scripts.
                    $cause = if ($_.Exception -is [System.Management.Automation.ActionPreferenceStopException] -and $_.Exception.ErrorRecord) { $_.Exception.ErrorRecord.Exception } else { $_.Exception }
                    if ($cause -is [System.Management.Automation.MethodInvocationException] -and $cause.InnerException) { $cause = $cause.InnerException }
                    Stop-KmUpgradeRun $PSCmdlet ("Step $($step.Index) failed ($($step.Description)): $($cause.Message)`n" + (Get-KmUpgradeState $plan $journal $byName $step)) 'UpgradeStopped' 'OperationStopped' $cause
                }
                $journal.Record($step.Key, $detail)
                if ($step.Action -eq 'Stop') { $stoppedAt[$step.Node] = $started }
                if ($step.Action -eq 'Start' -and $stoppedAt.ContainsKey($step.Node)) {
                    $r = Get-KmFirst @($result.Nodes | Where-Object Name -eq $step.Node)
                    if ($r) { $r.Downtime = [DateTime]::UtcNow - $stoppedAt[$step.Node] }
                }
                $PSCmdlet.WriteVerbose("step $($step.Index) done: $($step.Description)")
            }
            $done = [System.Management.Automation.ProgressRecord]::new(10, "Safe upgrade to $($plan.NewVersion)", 'done')
            $done.RecordType = [System.Management.Automation.ProgressRecordType]::Completed
            $PSCmdlet.WriteProgress($done)

            $final = @($nodes | Get-KmStatus -ErrorAction SilentlyContinue)
            foreach ($s in $final) {
                $r = Get-KmFirst @($result.Nodes | Where-Object Name -eq $s.Name)
                if ($r) { $r.AfterVersion = [string]$s.RegisteredVersion; $r.Checksum = $s.Checksum; $r.Status = $s.Status }
            }
            $result.Checksum = Get-KmFirst @($final | ForEach-Object { $_.Checksum } | Select-KmUnique)
            $result.Success = $true
            $result.Duration = $clock.Elapsed
            $journal.Finish()
            Write-KmHostLine $PSCmdlet "Upgrade to $($plan.NewVersion) complete in $([int]$clock.Elapsed.TotalSeconds) s; all $($nodes.Count) nodes replicated (checksum $($result.Checksum))."
            $result
        }
        finally {
            if ($null -ne $journal) { $journal.Dispose() }
            foreach ($s in $ownSessions) { Remove-PSSession -Session $s -Confirm:$false -WhatIf:$false -ErrorAction SilentlyContinue }
        }
    }
}

# ---- helpers (not exported) -------------------------------------------------------------------
# Property values are read with ForEach-Object { $_.Name }, never ForEach-Object Name: the member-name form
# calls ShouldProcess, so under -Confirm it would ask before every property read.

# How often the upgrade's waits (epoch, replication) poll a node's status: a status call to a local
# socket is cheap, and on short test epochs Wait-KmNode's default of 500 ms showed as up to a fifth of
# the run (a late replication can also push the first verification into the next epoch).
$KmWaitPollMs = 200

function Invoke-KmUpgradeStep($step, $plan, $byName, $result, [ref]$verifiedAt, $timeoutSec, $nodeTimeoutSec, $verifyEpochs, $bundleDigest) {
    $all = @($byName.Values)
    switch ($step.Action) {
        'Stop' { $null = $byName[$step.Node] | Stop-KmNode -Confirm:$false -TimeoutSec $nodeTimeoutSec -ErrorAction Stop; return $null }
        'Wipe' {
            $staying = if ($step.Phase -eq 'first') { @($plan.SecondHalf) + @($plan.Skipped) } else { @($plan.FirstHalf) + @($plan.Skipped) }
            $peers = @($staying | ForEach-Object { $byName[$_] })
            $record = $byName[$step.Node] | Clear-KmLocalState -RequirePeer $peers -Confirm:$false -ErrorAction Stop
            $r = Get-KmFirst @($result.Nodes | Where-Object Name -eq $step.Node)
            if ($record -and $r) { $r.BackupPath = $record.BackupPath }
            return $(if ($record) { $record.BackupPath } else { $null })
        }
        'SetBundle' {
            # The config will name a verified copy beside the node's current bundle, never the file given here.
            $change = $byName[$step.Node] | Set-KmRuntimeBundle -Path $plan.BundlePath -ExpectedDigest $bundleDigest -Confirm:$false -ErrorAction Stop
            return $(if ($change) { $change.NewBundle } else { $null })
        }
        'Start' { $null = $byName[$step.Node] | Start-KmNode -Confirm:$false -TimeoutSec $nodeTimeoutSec -ErrorAction Stop; return $null }
        'WaitEpoch' {
            $watch = @(@($plan.SecondHalf) + @($plan.Skipped) | ForEach-Object { $byName[$_] })
            if ($watch.Count -eq 0) { $watch = $all }
            $null = $watch[0] | Wait-KmNode -Until Epoch -Epoch $plan.UpgradeEpoch -TimeoutSec $timeoutSec -PollIntervalMs $KmWaitPollMs -ErrorAction Stop
            return $null
        }
        'WaitReplicated' {
            $half = if ($step.Node -eq 'first') { $plan.FirstHalf } else { $plan.SecondHalf }
            $null = @($half | ForEach-Object { $byName[$_] }) | Wait-KmNode -Until Replicated -Version $plan.NewVersion -TimeoutSec $timeoutSec -PollIntervalMs $KmWaitPollMs -ErrorAction Stop
            return $null
        }
        'Verify' {
            $epoch = Test-KmUpgradeReplication $plan $byName ($step.Phase -eq 'final')
            $verifiedAt.Value = $epoch
            return [string]$epoch
        }
        'VerifyAgain' {
            $target = [uint64]$verifiedAt.Value + [uint64]$verifyEpochs
            $null = $all[0] | Wait-KmNode -Until Epoch -Epoch $target -TimeoutSec $timeoutSec -PollIntervalMs $KmWaitPollMs -ErrorAction Stop
            return [string](Test-KmUpgradeReplication $plan $byName $false)
        }
    }
}

# Verification: every node ready with one checksum; upgraded nodes registered with the new version.
# Nodes are piped in, so remote ones are read on their machines (each through its session).
function Test-KmUpgradeReplication($plan, $byName, [bool]$final) {
    $all = @($byName.Values)
    $report = $all | Test-KmReplication -ErrorAction Stop
    if (-not $report.Ok) { throw "replication not verified: $($report.Problems -join '; ')" }
    # @() around the if: a one-node half would otherwise come out as a scalar, which has no .Count under strict mode.
    $upgraded = @(if ($final) { $all } else { @($plan.FirstHalf) + @($plan.Skipped) | ForEach-Object { $byName[$_] } })
    if ($upgraded.Count -gt 0) {
        $versions = $upgraded | Test-KmReplication -ExpectedVersion $plan.NewVersion -ErrorAction Stop
        if (-not $versions.Ok) { throw "upgraded nodes not verified: $($versions.Problems -join '; ')" }
    }
    $report.Epoch
}

# What is true on a node a resumed run had touched: running, state present, the wipe's backup still
# there, the config on the new bundle. $null where it cannot be seen (ResumeCheck then refuses).
function Get-KmNodeObservation($node, $plan, $journal) {
    $probe = $null
    $live = @($node | Get-KmStatus -TimeoutSec 5 -ErrorAction SilentlyContinue -ErrorVariable probe)
    $silent = @($probe | Where-Object { $_.FullyQualifiedErrorId -like 'SocketNotFound,*' -or $_.FullyQualifiedErrorId -like 'ConnectionRefused,*' })
    $running = if ($live.Count -gt 0) { $true } elseif ($silent.Count -gt 0) { $false } else { $null }
    $state = $null
    $backupPresent = $null
    $info = @($node | Get-KmLocalState -ErrorAction SilentlyContinue)
    if ($info.Count -gt 0) {
        $state = [bool]$info[0].Exists
        $backup = $journal.DetailOf("$($node.Name):Wipe")
        if ($backup) { $backupPresent = @($info[0].Backups | Where-Object { $_.Path -eq $backup }).Count -gt 0 }
    }
    $onNew = $null
    try {
        $cancel = [System.Threading.CancellationTokenSource]::new()
        $bundles = Invoke-KmAwait ([KmPs.Remoting.NodeReader]::new().GetKmBundlesAsync($node, $cancel.Token)) $cancel
        $name = [System.IO.Path]::GetFileName($plan.BundlePath)
        $onNew = @($bundles | Where-Object { [System.IO.Path]::GetFileName($_) -eq $name }).Count -gt 0
    }
    catch [System.Management.Automation.PipelineStoppedException] { throw }
    catch { $onNew = $null }
    [KmPs.Orchestration.NodeObservation]::new($node.Name, $running, $state, $backupPresent, $onNew)
}

# What each node is doing now, from the journal and a status probe, and what to do next.
function Get-KmUpgradeState($plan, $journal, $byName, $failedStep) {
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add('Node states:')
    $lostSessions = [System.Collections.Generic.HashSet[string]]::new()
    [string[]]$names = @($byName.Keys)
    [Array]::Sort($names, [StringComparer]::Ordinal)
    foreach ($name in $names) {
        $n = $byName[$name]
        $done = @($journal.Completed | Where-Object { $_.Key.StartsWith("${name}:") } | ForEach-Object { $_.Key.Split(':')[1] })
        $probe = $null
        $live = @($n | Get-KmStatus -TimeoutSec 5 -ErrorAction SilentlyContinue -ErrorVariable probe)
        $lost = @($probe | Where-Object { $_.FullyQualifiedErrorId -like 'SessionLost,*' -or $_.FullyQualifiedErrorId -like 'NoSession,*' })
        if ($lost.Count -gt 0) { $null = $lostSessions.Add($name) }
        $seen = if ($live.Count -gt 0) { "running, $($live[0].Status), version $($live[0].RegisteredVersion)" }
                elseif ($lost.Count -gt 0) { 'unknown: its remoting session is lost, nothing more can be done there until it is reconnected' }
                else { 'not answering (stopped?)' }
        $what = if ($done.Count -eq 0) { 'untouched' } else { 'done: ' + ($done -join ', ') }
        $where = if ($n.IsRemote) { " on $($n.HostName)" } else { '' }
        $lines.Add("  $name$where [$what]: $seen")
    }
    $node = $failedStep.Node
    if ($byName.ContainsKey($node)) {
        $done = @($journal.Completed | Where-Object { $_.Key.StartsWith("${node}:") } | ForEach-Object { $_.Key.Split(':')[1] })
        if ($lostSessions.Contains($node)) {
            $lines.Add("What to do: the session to ${node}'s machine was lost during this step, so whether the step took effect there is unknown. " +
                "Open a new session (New-PSSession) and give it to $node, check $node there (Get-KmStatus; Start-KmNode if the step stopped it), " +
                "then run the same command again to resume. Nodes not listed as done were not touched.")
        }
        elseif ($failedStep.Action -eq 'Start') {
            $lines.Add("What to do: $node did not come up on the new version: its config points at the new bundle and its old state was moved aside " +
                "(it may be stopped, or running and failing). Pipe its node to Find-KmUpgradeProblem, or read its log, to see why. Fix the cause and run the same " +
                "command again to resume; to roll back before the upgrade epoch instead: Stop-KmNode, Clear-KmLocalState -Delete (the state the new enclave started holds no key before the upgrade epoch; -Delete keeps the old backup the newest), Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode. " +
                "Nodes of the other half were not touched.")
        }
        elseif ($done -contains 'Wipe' -and -not ($done -contains 'Start')) {
            $lines.Add("What to do: $node is stopped and its old state was moved aside. Fix the cause and run the same command again to resume; " +
                "to roll back before the upgrade epoch instead: Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode.")
        }
        elseif ($done -contains 'Stop' -and -not ($done -contains 'Wipe')) {
            $lines.Add("What to do: $node is stopped with its state and bundle unchanged. Start it again (Start-KmNode) to return it to service on the old version, or fix the cause and run the same command again to resume.")
        }
        elseif ($done -contains 'Start') {
            $lines.Add("What to do: $node runs the new version but is not verified. Check Find-KmUpgradeProblem and its status; run the same command again to resume. " +
                "Nodes of the other half were not touched.")
        }
        else {
            $lines.Add("What to do: fix the cause and run the same command again to resume; nothing on $node was changed by this step.")
        }
    }
    else {
        $lines.Add('What to do: the upgraded nodes have not verified yet. Check them (Test-KmReplication, Find-KmUpgradeProblem) and run the same command again to resume; the other half was not touched. ' +
            'Before the upgrade epoch an upgraded node can be rolled back: Stop-KmNode, Clear-KmLocalState -Delete (its new state holds no key yet), Restore-KmLocalState, Set-KmRuntimeBundle with the old ORC, Start-KmNode.')
    }
    $lines -join "`n"
}

# Ends the run with one terminating error. $cause: an ErrorRecord (its KmException's id is kept) or a
# message; $inner: for a message, the exception that caused it (a failed step's own error).
function Stop-KmUpgradeRun($cmdlet, $cause, [string]$errorId = 'UpgradeStopped', [string]$category = 'InvalidOperation', [Exception]$inner = $null) {
    if ($cause -is [System.Management.Automation.ErrorRecord]) {
        $inner = $cause.Exception
        if ($inner -is [System.Management.Automation.MethodInvocationException] -and $inner.InnerException) { $inner = $inner.InnerException }
        $message = $inner.Message
        if ($inner -is [KmPs.KmException]) { $errorId = $inner.ErrorId; $category = $inner.Category.ToString() }
    }
    else { $message = [string]$cause }
    $exception = [KmPs.KmException]::new($errorId, [KmPs.KmErrorCategory]$category, $message, $null, $inner)
    $record = [System.Management.Automation.ErrorRecord]::new($exception, $errorId, [System.Management.Automation.ErrorCategory]$category, $null)
    if ($inner -is [KmPs.KmException] -and $inner.RecommendedAction -and $cause -is [System.Management.Automation.ErrorRecord]) {
        $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($message)
        $record.ErrorDetails.RecommendedAction = $inner.RecommendedAction
    }
    $cmdlet.ThrowTerminatingError($record)
}

function Write-KmHostLine($cmdlet, [string]$text) {
    $message = [System.Management.Automation.HostInformationMessage]@{ Message = $text }
    $cmdlet.WriteInformation($message, [string[]]@('PSHOST'))
}

# Waits for a task in short slices: a script loop notices Ctrl+C (StopProcessing) between them, where
# one blocking GetResult() would hold the pipeline until the task ended. A stopped wait cancels the task.
function Invoke-KmAwait($task, [System.Threading.CancellationTokenSource]$cancel = $null) {
    try { while (-not $task.IsCompleted) { $null = ([System.IAsyncResult]$task).AsyncWaitHandle.WaitOne(100) } }
    finally { if ($null -ne $cancel -and -not $task.IsCompleted) { $cancel.Cancel() } }
    $task.GetAwaiter().GetResult()
}

# The first item, or $null for none (indexing an empty array throws under strict mode).
function Get-KmFirst([object[]]$items) { if ($items.Count -gt 0) { $items[0] } }

function Select-KmUnique { begin { $seen = @{} } process { if ($null -ne $_ -and -not $seen.ContainsKey($_)) { $seen[$_] = 1; $_ } } }

Export-ModuleMember -Function Invoke-KmSafeUpgrade
