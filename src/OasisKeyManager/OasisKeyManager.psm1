# Script part of OasisKeyManager: Invoke-KmSafeUpgrade, the operator guide's half/half procedure
# composed from the module's compiled cmdlets (Stop-KmNode, Clear-KmLocalState, Set-KmRuntimeBundle,
# Start-KmNode, Wait-KmNode, Test-KmReplication). What is more than composing commands (plan,
# journal, pre-flight, resume check) lives in KmPs.Core.Orchestration, where it is unit-tested.
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
    exactly one key manager bundle, nodes without a lifecycle, and a key manager policy that does not
    let the new bundle's enclave replicate from the current nodes' enclave (no entry for the new
    enclave, or the current enclave's may_replicate does not list it: PolicyNoEntryForNewEnclave,
    PolicyReplicationNotAllowed, naming both enclaves and the policy serial). From oasis-core 25.6 a
    policy update takes effect at the next epoch (next_policy): when only that is missing the run is
    refused with PolicyNotYetInEffect and the epoch; -WaitForPolicy waits for that epoch (then checks
    again) before touching any node, and an interactive run offers to wait. The ORC is also checked
    against the network's own record of the runtime (Registry/GetRuntime): its enclave identity
    (MRENCLAVE of its .sgxs, MRSIGNER of its SIGSTRUCT) must be one the new version's deployment
    allows (EnclaveNotDeployed: the right version, but another build); on 25.0+ nodes the
    deployment's bundle_checksum must be the ORC's manifest hash (BundleChecksumMismatch); an ORC of
    the other network's key manager, Testnet on Mainnet nodes or the reverse, is named as such
    (BundleOtherNetwork). Each problem's ErrorId is on the PreflightFailed error's TargetObject. The
    printed plan names the enclaves it checked in short form (the first 8 hex digits of MRENCLAVE
    and of MRSIGNER): the deployment check and the policy check.

    Every destructive step (stop, wipe, config change) asks first (ConfirmImpact High; Yes to All
    is honoured; -Confirm:$false for automation). -WhatIf prints every step and changes nothing.
    Each completed step is written to a journal before the next starts; running the same command
    again resumes where it stopped. Before resuming it looks at every node the journal says it
    touched (running? state present? the wipe's backup still there? config on the new bundle?) and
    does again what is no longer true: a node started by hand after its stop is stopped again, a
    node rolled back with Restore-KmLocalState is upgraded again; a state that matches no step of
    the plan is refused (ErrorId ResumeStateMismatch). A node the run stopped that answers again before
    the run starts it (started by hand or by its service manager, on the bundle its config named then) is
    neither reconfigured nor started: the run stops with the node named (the step's inner ErrorId
    NodeStartedByHand), and the same command then stops it, wipes it again and upgrades it. A resumed
    run's first verification first waits (up to -TimeoutSec) until the nodes it checks are replicated
    again: a node whose registration lapsed while no run watched registers again at its next epoch once
    its problem is fixed, so the command run at once after the fix does not stop again. Epoch waits
    read the epoch from every node concerned, so one stopped or killed meanwhile does not hold them. The ORC's digest is pinned when the run is
    planned: every config is pointed at a verified copy beside the node's bundle, and a file
    changed since is refused (BundleChanged). Any failure stops the run
    at once, leaves the untouched nodes alone, and says which node is in which state and what to do.

    The printed plan (also under -WhatIf) ends with the estimated duration: the epochs it waits (until
    the upgrade epoch, one per half for replication, -VerifyEpochs between the verifications) and the
    wall time from the network's epoch length, read from a local node's chain. Progress: the step bar
    (step n of m) is the parent of each wait's bar, which shows the epochs left and the estimated time.
    The result's Estimate is that estimate; its Phases give the time each phase took.

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

    .PARAMETER WaitForPolicy
    When the key manager policy that lets the new enclave replicate is scheduled for the next epoch
    (25.6+ next_policy), wait for that epoch (up to -TimeoutSec) and check again before touching any
    node, instead of refusing. Under -WhatIf the plan says it would wait.

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
    Invoke-KmSafeUpgrade -InventoryPath ./km.json -BundlePath ./keymanager-0.6.0.orc -WaitForPolicy -Confirm:$false

    The policy signers' update for the new enclave is pending (it applies at the next epoch): waits for
    that epoch, checks the policy again, then upgrades.

    .EXAMPLE
    Invoke-KmSafeUpgrade -InventoryPath ./km-hosts.psd1 -BundlePath ./keymanager-0.6.0.orc

    An inventory whose nodes have HostName (and UserName): one SSH remoting session per host is
    opened, every step of a node runs on its machine (with OasisKeyManager installed there), the ORC
    is copied to each host, and the sessions are closed at the end.

    .OUTPUTS
    KmPs.Core.Orchestration.UpgradeResult
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High', DefaultParameterSetName = 'Node')]
    [OutputType([KmPs.Core.Orchestration.UpgradeResult])]
    param(
        [Parameter(Mandatory = $true, ValueFromPipeline = $true, ParameterSetName = 'Node')]
        [KmPs.Core.Inventory.KmNode[]] $Node,

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
        [int] $NodeTimeoutSec = 300,

        [switch] $WaitForPolicy
    )

    begin {
        $collected = [System.Collections.Generic.List[KmPs.Core.Inventory.KmNode]]::new()
    }

    process {
        if ($PSCmdlet.ParameterSetName -eq 'Node') { $collected.AddRange($Node) }
    }

    end {
        # Sessions this command opened (HostName nodes of -InventoryPath) are closed when it ends, however it ends.
        $ownSessions = [System.Collections.Generic.List[object]]::new()
        # The journal holds the run's lock once it begins; released however the run ends.
        $journal = $null
        try {
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            if ($PSCmdlet.ParameterSetName -eq 'Inventory') {
                $InventoryPath = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($InventoryPath)
                $importErrors = $null
                $imported = @(Import-KmNode -Path $InventoryPath -ErrorAction SilentlyContinue -ErrorVariable importErrors)
                if ($importErrors) { Stop-KmUpgradeRun @($importErrors)[0] }
                $collected.AddRange([KmPs.Core.Inventory.KmNode[]]$imported)
                foreach ($s in $imported | Where-Object Session | Select-Object -ExpandProperty Session) {
                    if (-not $ownSessions.Contains($s)) { $ownSessions.Add($s) }
                }
            }
            $nodes = $collected.ToArray()
            Assert-KmInventoryComplete $nodes

            $bundle = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($BundlePath)
            if (-not $JournalPath) {
                $JournalPath = if ($InventoryPath) { "$InventoryPath.upgrade-journal.json" }
                               else { Join-Path (Get-Location -PSProvider FileSystem).ProviderPath 'km-upgrade-journal.json' }
            }
            $JournalPath = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($JournalPath)
            $whatIf = [bool]$WhatIfPreference

            # ---- journal (read-only under -WhatIf) and pre-flight: nothing is changed before this passes
            $version = $bundleDigest = $bundleFileDigest = $null
            try {
                $orc = [KmPs.Core.Bundles.OrcBundle]::Open($bundle)
                $version = $orc.Version
                $bundleDigest = $orc.ContentDigest
                # Every SetBundle checks the file is still the one planned with (a CI workspace may be rebuilt mid-run).
                $bundleFileDigest = [KmPs.Core.Bundles.BundleStaging]::Digest($bundle)
            }
            catch { $version = $null }   # the pre-flight reports the bad ORC, with every other problem
            $midUpgrade = [System.Collections.Generic.HashSet[string]]::new()
            if ($null -ne $version) {
                $planId = [KmPs.Core.Orchestration.UpgradePlanner]::PlanId($nodes, $bundle, $version, $bundleDigest)
                try { $journal = [KmPs.Core.Orchestration.UpgradeJournal]::Open($JournalPath, $planId, $version.ToString(), -not $whatIf) }
                catch { Stop-KmUpgradeRun $_ -ErrorId JournalUnusable }
                $midUpgrade.UnionWith([string[]]@($journal.TouchedNodes))
            }
            # Remote nodes are read on their machines through their sessions, all nodes at once.
            $runPreflight = {
                $cancel = [System.Threading.CancellationTokenSource]::new()
                Invoke-KmAwait -Cancel $cancel ([KmPs.Core.Orchestration.UpgradePreflight]::RunAsync($nodes, $bundle, $midUpgrade,
                    [KmPs.Remoting.NodeHosts]::Resolver($PSCmdlet.GetUnresolvedProviderPathFromPSPath('.')), [TimeSpan]::FromSeconds(15), $cancel.Token))
            }
            $preflight = & $runPreflight
            if ($preflight.OnlyWaitingForPolicy) { $preflight = Wait-KmPolicyInEffect $preflight $runPreflight $nodes $WaitForPolicy $whatIf $TimeoutSec }
            if (-not $preflight.Ok) {
                # Each problem keeps its own ErrorId on the error's TargetObject, for scripts.
                Stop-KmUpgradeRun ("Pre-flight found problems; nothing was changed:`n  - " + ($preflight.Problems.Message -join "`n  - ")) -ErrorId PreflightFailed -Target $preflight.Problems.ToArray()
            }

            if ($null -ne $journal -and $null -ne $journal.Halves) {
                $plan = [KmPs.Core.Orchestration.UpgradePlanner]::Resume($nodes, $journal.Halves, $version, $bundle, $preflight.RuntimeId, $preflight.UpgradeEpoch, $VerifyEpochs, $bundleDigest)
                Write-Verbose "Resuming from $JournalPath ($($journal.Completed.Count) step(s) done)."
            }
            else {
                $first = if ($PSBoundParameters.ContainsKey('FirstHalfCount')) { [Nullable[int]]$FirstHalfCount } else { $null }
                try {
                    $plan = [KmPs.Core.Orchestration.UpgradePlanner]::Plan($nodes, $preflight.Upgraded, $version, $bundle, $preflight.RuntimeId, $preflight.UpgradeEpoch, $first, $VerifyEpochs, $bundleDigest)
                }
                catch { Stop-KmUpgradeRun $_ -ErrorId PlanRefused }
            }

            # Everything the steps need, in one place.
            $run = [pscustomobject]@{
                Plan           = $plan
                Journal        = $journal
                ByName         = @{}
                Result         = New-KmUpgradeResult $plan $nodes $preflight $JournalPath $whatIf ($null -ne $journal -and $journal.Resumed)
                VerifiedAt     = [uint64]0
                TimeoutSec     = $TimeoutSec
                NodeTimeoutSec = $NodeTimeoutSec
                VerifyEpochs   = $VerifyEpochs
                FileDigest     = $bundleFileDigest
                # Until the first step this run does: a resumed run's first verification waits first (Test-KmUpgradeReplication).
                Resuming       = ($null -ne $journal -and $journal.Resumed)
            }
            foreach ($n in $nodes) { $run.ByName[$n.Name] = $n }
            $result = $run.Result

            $result.Estimate = Get-KmUpgradeDuration $plan $nodes $preflight.CurrentEpoch
            $result.Policy = $preflight.PolicyCheck
            Write-Host "Plan: $plan"
            Write-Host "Deployment check: $($preflight.DeploymentSummary)."
            if ($preflight.PolicyCheck) { Write-Host "Policy check: $($preflight.PolicyCheck.Summary)." }
            if ($null -ne $preflight.PolicyWaitEpoch) { Write-Host "First it waits for epoch $($preflight.PolicyWaitEpoch), when the next policy takes effect, and checks again." }
            Write-Host "Estimated duration: $($result.Estimate)"
            if ($preflight.CurrentEpoch -ge $plan.UpgradeEpoch) {
                Write-Host "The upgrade epoch $($plan.UpgradeEpoch) has already passed (now $($preflight.CurrentEpoch)): upgraded nodes replicate at once."
            }
            foreach ($s in $plan.Steps) { Write-Verbose "step $($s.Index): [$($s.Phase)] $($s.Description)" }

            if ($whatIf) {
                foreach ($s in $plan.Steps) { $null = $PSCmdlet.ShouldProcess($s.Node, $s.Description) }
                $result.Duration = $clock.Elapsed
                return $result
            }

            try { $journal.Begin($plan) }
            catch { Stop-KmUpgradeRun $_ -ErrorId JournalUnusable }
            if ($result.Resumed) { Sync-KmResumedJournal $run }

            # A resumed run whose second half is untouched verifies the first half again before starting it
            # (once the second half has begun, every wipe's own guard checks the staying first half).
            $reverify = $result.Resumed -and -not ($journal.TouchedNodes | Where-Object { $plan.SecondHalf -contains $_ })
            $total = $plan.Steps.Count
            $activity = "Safe upgrade to $($plan.NewVersion)"
            $stoppedAt = @{}
            foreach ($step in $plan.Steps) {
                if ($journal.IsDone($step.Key)) {
                    Write-Verbose "step $($step.Index) already done: $($step.Description)"
                    if ($step.Action -eq 'Verify' -and $step.Phase -eq 'first') {
                        $done = $journal.Completed | Where-Object Key -eq $step.Key | Select-Object -First 1
                        if ($done -and $done.Detail) { $run.VerifiedAt = [uint64]$done.Detail }
                    }
                    continue
                }
                if ($reverify -and $step.Phase -eq 'second') {
                    # A resumed run trusts no earlier verification before touching the second half:
                    # the first half may have changed while no run was watching.
                    $reverify = $false
                    try { $null = Test-KmUpgradeReplication $run -WaitFirst }
                    catch {
                        $report = Get-KmUpgradeState $run $step
                        Stop-KmUpgradeRun ("Before resuming with the second half, the first half no longer verifies: $($_.Exception.Message)`n" +
                            $report.Render()) -Category OperationStopped -Target $report
                    }
                    Write-Verbose 'Resumed run: the first half verified again before the second half.'
                }
                Write-Progress -Id 10 -Activity $activity -Status "step $($step.Index)/${total}: $($step.Description)" -PercentComplete (100 * ($step.Index - 1) / $total)

                if ($step.IsDestructive -and -not $PSCmdlet.ShouldProcess($step.Node, $step.Description)) {
                    $report = Get-KmUpgradeState $run $step
                    Stop-KmUpgradeRun "You declined: $($step.Description). $($report.Render())" -ErrorId UpgradeDeclined -Category OperationStopped -Target $report
                }
                $started = [DateTime]::UtcNow
                $journal.Starting($step.Key)
                try { $detail = Invoke-KmUpgradeStep $run $step }
                catch [System.Management.Automation.PipelineStoppedException] { throw }
                catch {
                    # The step's own error (say WipeRefused) stays reachable as the InnerException, for scripts.
                    $cause = if ($_.Exception -is [System.Management.Automation.ActionPreferenceStopException] -and $_.Exception.ErrorRecord) { $_.Exception.ErrorRecord.Exception } else { $_.Exception }
                    if ($cause -is [System.Management.Automation.MethodInvocationException] -and $cause.InnerException) { $cause = $cause.InnerException }
                    $report = Get-KmUpgradeState $run $step
                    Stop-KmUpgradeRun "Step $($step.Index) failed ($($step.Description)): $($cause.Message)`n$($report.Render())" -Category OperationStopped -Inner $cause -Target $report
                }
                $journal.Record($step.Key, $detail)
                $run.Resuming = $false
                $result.AddStepTime($step.Phase, [DateTime]::UtcNow - $started)
                if ($step.Action -eq 'Stop') { $stoppedAt[$step.Node] = $started }
                if ($step.Action -eq 'Start' -and $stoppedAt.ContainsKey($step.Node)) {
                    (Get-KmNodeResult $run $step.Node).Downtime = [DateTime]::UtcNow - $stoppedAt[$step.Node]
                }
                Write-Verbose "step $($step.Index) done: $($step.Description)"
            }
            Write-Progress -Id 10 -Activity $activity -Completed

            $final = @($nodes | Get-KmStatus -ErrorAction SilentlyContinue)
            foreach ($s in $final) {
                $r = Get-KmNodeResult $run $s.Name
                $r.AfterVersion = [string]$s.RegisteredVersion
                $r.Checksum = $s.Checksum
                $r.Status = $s.Status
            }
            $result.Checksum = $final | Where-Object Checksum | Select-Object -ExpandProperty Checksum -First 1
            $result.Success = $true
            $result.Duration = $clock.Elapsed
            $journal.Finish()
            Write-Host "Upgrade to $($plan.NewVersion) complete in $([int]$clock.Elapsed.TotalSeconds) s; all $($nodes.Count) nodes replicated (checksum $($result.Checksum))."
            $result
        }
        finally {
            if ($null -ne $journal) { $journal.Dispose() }
            if ($ownSessions.Count) { Remove-PSSession -Session $ownSessions -Confirm:$false -WhatIf:$false -ErrorAction SilentlyContinue }
        }
    }
}

# ---- helpers (not exported) -------------------------------------------------------------------
# Property values are read with Select-Object -ExpandProperty or Where-Object, never ForEach-Object
# Name: the member-name form of ForEach-Object calls ShouldProcess, so under -Confirm it would ask
# before every property read.

# How often the upgrade's waits (epoch, replication) poll a node's status: a status call to a local
# socket is cheap, and on short test epochs Wait-KmNode's default of 500 ms showed as up to a fifth of
# the run (a late replication can also push the first verification into the next epoch).
$KmWaitPollMs = 200

# Nodes piped from an inventory file must be all of its entries: a bad entry (an error of
# Import-KmNode) or a filtered one would leave a node out of a run that reports "all nodes".
function Assert-KmInventoryComplete([object[]] $Nodes) {
    $arrived = [System.Collections.Generic.HashSet[string]]::new()
    foreach ($n in $Nodes) { $null = $arrived.Add("$($n.InventoryPath)|$($n.Name)") }
    $missing = foreach ($n in $Nodes | Where-Object InventoryPath) {
        foreach ($name in $n.InventoryNames) {
            if (-not $arrived.Contains("$($n.InventoryPath)|$name")) { "$name (in $($n.InventoryPath))" }
        }
    }
    if ($missing) {
        Stop-KmUpgradeRun ("The inventory is incomplete: " + (@($missing | Select-Object -Unique) -join ', ') + " did not arrive (a bad entry, or filtered out); nothing was changed. " +
            "Fix or remove the entry in the inventory file, so that the run covers every node it lists.") -ErrorId InventoryIncomplete -Category InvalidData
    }
}

# The run's result, one row per node with its half and its version before the upgrade.
function New-KmUpgradeResult($Plan, [object[]] $Nodes, $Preflight, [string] $JournalPath, [bool] $WhatIf, [bool] $Resumed) {
    $result = [KmPs.Core.Orchestration.UpgradeResult]::new()
    $result.NewVersion = $Plan.NewVersion
    $result.UpgradeEpoch = $Plan.UpgradeEpoch
    $result.Plan = $Plan
    $result.JournalPath = $JournalPath
    $result.Resumed = $Resumed
    $result.WhatIf = $WhatIf
    $result.NewEnclave = $Preflight.NewEnclave
    $result.OldEnclaves.AddRange([KmPs.Core.Sgx.EnclaveIdentity[]]@($Preflight.CurrentEnclaves))
    foreach ($n in $Nodes) {
        $r = [KmPs.Core.Orchestration.UpgradeNodeResult]::new()
        $r.Name = $n.Name
        $r.Half = if ($Plan.FirstHalf -contains $n.Name) { 'First' } elseif ($Plan.SecondHalf -contains $n.Name) { 'Second' } else { 'Skipped' }
        if ($Preflight.Statuses.ContainsKey($n.Name)) { $r.BeforeVersion = [string]$Preflight.Statuses[$n.Name].RegisteredVersion }
        $result.Nodes.Add($r)
    }
    $result
}

function Get-KmNodeResult($Run, [string] $Name) { $Run.Result.Nodes | Where-Object Name -eq $Name | Select-Object -First 1 }

# The journal says what this tool did; the nodes say what is true now. A node restarted by hand, or
# rolled back with Restore-KmLocalState, has its steps done again; a state no step explains is refused.
function Sync-KmResumedJournal($Run) {
    $journal = $Run.Journal
    [KmPs.Core.Orchestration.NodeObservation[]]$seen = @($journal.TouchedNodes | Where-Object { $Run.ByName.ContainsKey($_) } |
        ForEach-Object { Get-KmNodeObservation $Run $Run.ByName[$_] })
    $doneKeys = [string[]]@($journal.Completed | Select-Object -ExpandProperty Key)
    $decision = [KmPs.Core.Orchestration.ResumeCheck]::Decide($Run.Plan, $doneKeys, $seen)
    foreach ($o in $seen) { Write-Verbose "Resume: found $o" }
    foreach ($note in $decision.Notes) { Write-Host "Resume: $note"; Write-Verbose "Resume: $note" }
    if ($decision.Refusal) {
        $resumeStep = [KmPs.Core.Orchestration.UpgradeStep]::new(0, 'resume', 'resume', 'Resume', 'resume')
        $report = Get-KmUpgradeState $Run $resumeStep
        Stop-KmUpgradeRun "Cannot resume: $($decision.Refusal)`n$($report.Render())" -ErrorId ResumeStateMismatch -Target $report
    }
    $journal.Forget([string[]]$decision.Redo)
    foreach ($k in $decision.FoundDone) { $journal.Record($k, 'found done when resuming') }
}

# How long the plan waits: in epochs, and in wall time from the epoch length a local node's chain
# gives (or the epochs it is seen to change); epochs alone when every node is on another machine.
function Get-KmUpgradeDuration($Plan, [object[]] $Nodes, [uint64] $CurrentEpoch) {
    $length = [KmPs.Core.Timing.EpochLengthEstimate]::Unknown('every node is on another machine')
    $local = $Nodes | Where-Object { -not $_.IsRemote } | Select-Object -First 1
    if ($local) {
        try {
            $cancel = [System.Threading.CancellationTokenSource]::new()
            $clock = [KmPs.Core.Timing.EpochEtaClock]::new([KmPs.Core.Control.SocketAddress]::Parse($local.Socket), 32)
            $eta = Invoke-KmAwait -Cancel $cancel ($clock.EstimateAsync($Plan.UpgradeEpoch, $cancel.Token, [TimeSpan]::FromSeconds(10)))
            $length = $eta.Length
            Write-Verbose "Epoch length: $($length.Basis)"
        }
        catch [System.Management.Automation.PipelineStoppedException] { throw }
        catch { $length = [KmPs.Core.Timing.EpochLengthEstimate]::Unknown("cannot read it from $($local.Name): $($_.Exception.Message)") }
    }
    [KmPs.Core.Orchestration.UpgradeDuration]::Of($Plan, $CurrentEpoch, $length)
}

# The pre-flight's only problem is the policy update that lets the new enclave replicate, scheduled for the
# next epoch (25.6+ next_policy, applied at the epoch transition): with -WaitForPolicy, or when the user
# accepts the offer, wait for that epoch with the usual epoch wait and run the pre-flight again, until the
# policy is in effect (or something else is wrong, or -TimeoutSec passes). Nothing is touched meanwhile.
# Under -WhatIf nothing is waited for: the plan is shown after the wait it would do.
function Wait-KmPolicyInEffect($Preflight, [scriptblock] $RunPreflight, [object[]] $Nodes, [bool] $Switch, [bool] $WhatIf, [int] $TimeoutSec) {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    $asked = $false
    while ($Preflight.OnlyWaitingForPolicy) {
        $check = $Preflight.PolicyCheck
        $at = $check.NextEpoch
        if (-not $Switch -and -not $asked) {
            $asked = $true
            # Only a person can accept: not under -WhatIf, not with -Confirm:$false, not in a host that cannot ask.
            if ($WhatIf -or $ConfirmPreference -eq 'None') { return $Preflight }
            $question = "$($check.Message).`nWait for epoch $at, check the policy again and then upgrade? Nothing is touched while waiting."
            $yes = $false
            try { $yes = $PSCmdlet.ShouldContinue($question, 'The key manager policy for the new enclave is not yet in effect') }
            catch [System.Management.Automation.PipelineStoppedException] { throw }
            catch { $yes = $false }
            if (-not $yes) { return $Preflight }
        }
        if ($WhatIf) {
            Write-Host "What if: waiting for epoch $at, when the key manager policy serial $($check.NextSerial) takes effect, then checking it again."
            $Preflight.AcceptPolicyWait()
            return $Preflight
        }
        $left = [int][Math]::Ceiling(($deadline - [DateTime]::UtcNow).TotalSeconds)
        if ($left -lt 1) { return $Preflight }
        Write-Host "Waiting for epoch $at, when the key manager policy serial $($check.NextSerial) takes effect; nothing is touched meanwhile."
        $watch = @($Nodes | Where-Object { $Preflight.Statuses.ContainsKey($_.Name) })
        $null = $watch | Wait-KmNode -Until Epoch -Epoch $at -TimeoutSec $left -PollIntervalMs $KmWaitPollMs -ErrorAction Stop
        $Preflight = & $RunPreflight
        Write-Verbose "After epoch ${at}: $(if ($Preflight.PolicyCheck) { $Preflight.PolicyCheck.Message } else { 'no policy check' })."
    }
    $Preflight
}

# One step of the plan, as the compiled cmdlet that does it; returns the detail the journal keeps.
function Invoke-KmUpgradeStep($Run, $Step) {
    $plan = $Run.Plan
    $byName = $Run.ByName
    $node = if ($byName.ContainsKey($Step.Node)) { $byName[$Step.Node] }
    $all = @($byName.Values)
    $nodeOp = @{ Confirm = $false; ErrorAction = 'Stop' }
    # Each wait's bar is drawn under the run's step bar (Write-Progress -Id 10).
    $wait = @{ TimeoutSec = $Run.TimeoutSec; PollIntervalMs = $KmWaitPollMs; ParentProgressId = 10; ErrorAction = 'Stop' }
    switch ($Step.Action) {
        'Stop' { $null = $node | Stop-KmNode -TimeoutSec $Run.NodeTimeoutSec @nodeOp }
        'Wipe' {
            $staying = if ($Step.Phase -eq 'first') { @($plan.SecondHalf) + @($plan.Skipped) } else { @($plan.FirstHalf) + @($plan.Skipped) }
            $record = $node | Clear-KmLocalState -RequirePeer @($staying | ForEach-Object { $byName[$_] }) @nodeOp
            if ($record) {
                (Get-KmNodeResult $Run $Step.Node).BackupPath = $record.BackupPath
                $record.BackupPath
            }
        }
        'SetBundle' {
            # Only the config of a silent node is changed, checked before and after: a node started after this
            # step is then known to start on the new bundle (the resume check relies on it).
            Assert-KmNodeStillStopped $Run $node
            # The config will name a verified copy beside the node's current bundle, never the file given here.
            $change = $node | Set-KmRuntimeBundle -Path $plan.BundlePath -ExpectedDigest $Run.FileDigest @nodeOp
            Assert-KmNodeStillStopped $Run $node
            if ($change) { $change.NewBundle }
        }
        'Start' {
            $seen = Get-KmNodeLiveness $node
            if ($seen.Running) {
                # Started outside the run after its config change, so on the new bundle, unless it says otherwise.
                if ([KmPs.Core.Orchestration.ResumeCheck]::RunsVersion($seen.Status, $plan.NewVersion) -eq $false) { Assert-KmNodeStillStopped $Run $node }
                Write-Verbose "$($node.Name) is already running (started outside this run after its config change): its start is taken as done."
            }
            else { $null = $node | Start-KmNode -TimeoutSec $Run.NodeTimeoutSec @nodeOp }
        }
        'WaitEpoch' {
            # The epoch is the chain's: any node that answers tells it, so one stopped or killed meanwhile does not hold the wait.
            $watch = @(@($plan.SecondHalf) + @($plan.Skipped) | ForEach-Object { $byName[$_] })
            if (-not $watch) { $watch = $all }
            $null = $watch | Wait-KmNode -Until Epoch -Epoch $plan.UpgradeEpoch @wait
        }
        'WaitReplicated' {
            $half = if ($Step.Node -eq 'first') { $plan.FirstHalf } else { $plan.SecondHalf }
            $null = $half | ForEach-Object { $byName[$_] } | Wait-KmNode -Until Replicated -Version $plan.NewVersion @wait
        }
        'Verify' {
            $Run.VerifiedAt = Test-KmUpgradeReplication $Run -Final:($Step.Phase -eq 'final')
            [string]$Run.VerifiedAt
        }
        'VerifyAgain' {
            $null = $all | Wait-KmNode -Until Epoch -Epoch ($Run.VerifiedAt + [uint64]$Run.VerifyEpochs) @wait
            [string](Test-KmUpgradeReplication $Run)
        }
    }
}

# Verification: every node ready with one checksum; upgraded nodes registered with the new version.
# Nodes are piped in, so remote ones are read on their machines (each through its session). Returns the epoch.
# A resumed run's first verification, and its check of the first half before the second, wait first (-WaitFirst).
function Test-KmUpgradeReplication($Run, [switch] $Final, [switch] $WaitFirst) {
    $plan = $Run.Plan
    $all = @($Run.ByName.Values)
    $upgraded = @(if ($Final) { $all } else { @($plan.FirstHalf) + @($plan.Skipped) | ForEach-Object { $Run.ByName[$_] } })
    if ($WaitFirst -or $Run.Resuming) {
        Wait-KmUpgradeVerifiable $Run $upgraded
        $Run.Resuming = $false
    }
    $report = $all | Test-KmReplication -ErrorAction Stop
    if (-not $report.Ok) { throw "replication not verified: $($report.Problems -join '; ')" }
    if ($upgraded) {
        $versions = $upgraded | Test-KmReplication -ExpectedVersion $plan.NewVersion -ErrorAction Stop
        if (-not $versions.Ok) { throw "upgraded nodes not verified: $($versions.Problems -join '; ')" }
    }
    [uint64]$report.Epoch
}

# A resumed run's first verification: the earlier run's waits held then, not necessarily now (a node whose
# registration lapsed while no run watched registers again at its next epoch, once its problem is fixed).
# So it first waits, up to -TimeoutSec, until the nodes the verification checks are replicated (the upgraded
# ones as the new version); if they are not by then, the verification itself says what is wrong.
function Wait-KmUpgradeVerifiable($Run, $Upgraded) {
    $others = @($Run.ByName.Values | Where-Object { $Upgraded.Name -notcontains $_.Name })
    $wait = @{ Until = 'Replicated'; TimeoutSec = $Run.TimeoutSec; PollIntervalMs = $KmWaitPollMs; ParentProgressId = 10; ErrorAction = 'Stop' }
    try {
        if ($Upgraded) { $null = $Upgraded | Wait-KmNode -Version $Run.Plan.NewVersion @wait }
        if ($others) { $null = $others | Wait-KmNode @wait }
    }
    catch [System.Management.Automation.PipelineStoppedException] { throw }
    catch { Write-Verbose "Resumed run: the nodes are not all replicated ($($_.Exception.Message)); verifying now." }
}

# Whether a node's socket answers now: Running $true with its Status, $false when nothing listens (no
# socket, connection refused), $null when that cannot be told (a lost session, a socket it may not read).
# Lost says which of the $null cases: the node's remoting session is gone.
function Get-KmNodeLiveness($Node) {
    $probe = $null
    $live = @($Node | Get-KmStatus -TimeoutSec 5 -ErrorAction SilentlyContinue -ErrorVariable probe)
    $silent = $probe | Where-Object { $_.FullyQualifiedErrorId -like 'SocketNotFound,*' -or $_.FullyQualifiedErrorId -like 'ConnectionRefused,*' }
    $lost = $probe | Where-Object { $_.FullyQualifiedErrorId -like 'SessionLost,*' -or $_.FullyQualifiedErrorId -like 'NoSession,*' }
    [pscustomobject]@{
        Running = if ($live) { $true } elseif ($silent) { $false } else { $null }
        Status  = if ($live) { $live[0] } else { $null }
        Lost    = [bool]$lost
    }
}

# A node the run stopped answers again before the run started it: someone else started it (by hand, or its
# service manager), on the bundle its config named then, and the enclave it runs is rebuilding its state.
# The step stops the run; running the same command again stops it, wipes it again and upgrades it.
function Assert-KmNodeStillStopped($Run, $Node) {
    $seen = Get-KmNodeLiveness $Node
    if (-not $seen.Running) { return }
    $version = if ($seen.Status.ActiveVersion) { "version $($seen.Status.ActiveVersion)" } else { 'a version it does not report yet' }
    throw [KmPs.Core.KmException]::new([KmPs.Core.Orchestration.UpgradeErrorIds]::NodeStartedByHand, [KmPs.Core.KmErrorCategory]::InvalidOperation,
        "$($Node.Name) answers again though this run stopped it and has not started it: it was started outside the run (by hand or by its service manager), on $version, " +
        "and that enclave is rebuilding the state the run wiped. The run does not change its config or start it. Stop whatever starts it (a service manager's Restart=), " +
        "then run the same command again: the run stops it, wipes it again and upgrades it.", $Node.Name, $null)
}

# What is true on a node a resumed run had touched: running (and on which version), state present, the
# wipe's backup still there, the config on the new bundle. $null where it cannot be seen (ResumeCheck then refuses).
function Get-KmNodeObservation($Run, $Node) {
    $seen = Get-KmNodeLiveness $Node
    $running = $seen.Running
    $runsNew = if ($seen.Status) { [KmPs.Core.Orchestration.ResumeCheck]::RunsVersion($seen.Status, $Run.Plan.NewVersion) } else { $null }
    $state = $backupPresent = $null
    $info = $Node | Get-KmLocalState -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($info) {
        $state = [bool]$info.Exists
        $backup = $Run.Journal.DetailOf("$($Node.Name):Wipe")
        if ($backup) { $backupPresent = [bool]($info.Backups | Where-Object Path -eq $backup) }
    }
    $onNew = $null
    try {
        $cancel = [System.Threading.CancellationTokenSource]::new()
        $nodeHost = [KmPs.Remoting.NodeHosts]::For($Node, $PSCmdlet.GetUnresolvedProviderPathFromPSPath('.'))
        $bundles = Invoke-KmAwait -Cancel $cancel ($nodeHost.GetKmBundlesAsync($Node.ConfigPath, $cancel.Token))
        $name = Split-Path -Leaf $Run.Plan.BundlePath
        $onNew = [bool]($bundles | Where-Object { (Split-Path -Leaf $_) -eq $name })
    }
    catch [System.Management.Automation.PipelineStoppedException] { throw }
    catch { $onNew = $null }
    [KmPs.Core.Orchestration.NodeObservation]::new($Node.Name, $running, $state, $backupPresent, $onNew, $runsNew)
}

# What each node is doing now, from the journal and a status probe, and what to do next (a
# KmPs.Core.Orchestration.UpgradeStopReport: the stopped run's TargetObject, its Render() the message's end).
function Get-KmUpgradeState($Run, $FailedStep) {
    $journal = $Run.Journal
    $states = foreach ($name in $Run.ByName.Keys) {
        $n = $Run.ByName[$name]
        $done = @($journal.Completed | Where-Object { $_.Key.StartsWith("${name}:") } | ForEach-Object { $_.Key.Split(':')[1] })
        $seen = Get-KmNodeLiveness $n
        [KmPs.Core.Orchestration.NodeStopState]@{
            Name           = $name
            HostName       = if ($n.IsRemote) { $n.HostName } else { $null }
            Done           = [string[]]$done
            Liveness       = if ($seen.Status) { 'Running' } elseif ($seen.Lost) { 'SessionLost' } else { 'NotAnswering' }
            Status         = if ($seen.Status) { $seen.Status.Status } else { $null }
            Version        = if ($seen.Status) { [string]$seen.Status.RegisteredVersion } else { $null }
            RunsNewVersion = if ($seen.Status) { [KmPs.Core.Orchestration.ResumeCheck]::RunsVersion($seen.Status, $Run.Plan.NewVersion) } else { $null }
        }
    }
    [KmPs.Core.Orchestration.UpgradeStopReport]::Of($FailedStep, [KmPs.Core.Orchestration.NodeStopState[]]@($states))
}

# Ends the run with one terminating error of the calling cmdlet. $Cause: an ErrorRecord (its
# KmException's id, category and advice are kept) or a message; -Inner: for a message, the exception
# that caused it (a failed step's own error).
function Stop-KmUpgradeRun($Cause, [string] $ErrorId = 'UpgradeStopped', [string] $Category = 'InvalidOperation', [Exception] $Inner = $null, $Target = $null) {
    $advice = $null
    if ($Cause -is [System.Management.Automation.ErrorRecord]) {
        $Inner = $Cause.Exception
        if ($Inner -is [System.Management.Automation.MethodInvocationException] -and $Inner.InnerException) { $Inner = $Inner.InnerException }
        $message = $Inner.Message
        if ($Inner -is [KmPs.Core.KmException]) {
            $ErrorId = $Inner.ErrorId
            $Category = $Inner.Category.ToString()
            $advice = $Inner.RecommendedAction
        }
    }
    else { $message = [string]$Cause }
    $exception = [KmPs.Core.KmException]::new($ErrorId, [KmPs.Core.KmErrorCategory]$Category, $message, $Target, $Inner)
    $record = [System.Management.Automation.ErrorRecord]::new($exception, $ErrorId, $Category, $Target)
    if ($advice) {
        $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new($message)
        $record.ErrorDetails.RecommendedAction = $advice
    }
    $PSCmdlet.ThrowTerminatingError($record)
}

# Waits for a task in short slices: a script loop notices Ctrl+C (StopProcessing) between them, where
# one blocking GetResult() would hold the pipeline until the task ended. A stopped wait cancels the task.
function Invoke-KmAwait([System.Threading.Tasks.Task] $Task, [System.Threading.CancellationTokenSource] $Cancel) {
    try { while (-not ([System.IAsyncResult]$Task).AsyncWaitHandle.WaitOne(100)) { } }
    finally { if ($Cancel -and -not $Task.IsCompleted) { $Cancel.Cancel() } }
    $Task.GetAwaiter().GetResult()
}

Export-ModuleMember -Function Invoke-KmSafeUpgrade
