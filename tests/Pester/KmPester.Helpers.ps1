# Shared by the tests/Pester suite (dot-sourced in each file's BeforeAll). Not a test file.
#
# $env:KM_PESTER_MODULE: the published module folder (Run-KmPester.ps1 sets it: build.ps1 -OutputPath);
# $env:KM_PESTER_SIMULATOR: KmPs.Simulator.dll.

$script:ModuleDir = $env:KM_PESTER_MODULE
$script:Manifest = Join-Path $script:ModuleDir 'OasisKeyManager.psd1'
$script:Simulator = $env:KM_PESTER_SIMULATOR
if (-not $script:ModuleDir -or -not (Test-Path $script:Manifest)) { throw "KM_PESTER_MODULE must name a published module folder (got '$($env:KM_PESTER_MODULE)'); run tests/Pester/Run-KmPester.ps1." }
if (-not $script:Simulator -or -not (Test-Path $script:Simulator)) { throw "KM_PESTER_SIMULATOR must name KmPs.Simulator.dll (got '$($env:KM_PESTER_SIMULATOR)')." }

# The pwsh running this suite, for child processes: `dotnet <PSHOME>/pwsh.dll` (the pinned .NET tool).
$script:PwshExe = [Environment]::ProcessPath
$script:PwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension($script:PwshExe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

function Invoke-Simulator {
    param([Parameter(ValueFromRemainingArguments)] [string[]] $Arguments)
    $out = & dotnet $script:Simulator @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "simulator $($Arguments -join ' ') failed ($LASTEXITCODE): $out" }
    $out
}

# A started simulated cluster in a short temp folder (unix socket paths stay under 108 bytes).
function New-TestCluster {
    param([int] $Nodes = 3, [int] $EpochMs = 400, [int] $UpgradeIn = 4, [string] $Generation = '24', [switch] $NoStart, [switch] $PolicyNotUpdated)
    $dir = Join-Path '/tmp' ('kmp-' + [Guid]::NewGuid().ToString('N').Substring(0, 10))
    $create = @('cluster', 'create', '--dir', $dir, '--nodes', $Nodes, '--generation', $Generation, '--epoch-ms', $EpochMs, '--upgrade-in', $UpgradeIn)
    if ($PolicyNotUpdated) { $create += '--policy-not-updated' }
    $null = Invoke-Simulator @create
    if (-not $NoStart) { $null = Invoke-Simulator cluster start --dir $dir --timeout-sec 60 }
    [pscustomobject]@{
        Dir       = $dir
        Inventory = Join-Path $dir 'inventory.json'
        NewOrc    = Join-Path $dir 'bundles/keymanager-0.6.0.orc'
        OldOrc    = Join-Path $dir 'bundles/keymanager-0.5.0.orc'
    }
}

function Remove-TestCluster($Cluster) {
    if ($null -eq $Cluster) { return }
    try { $null = Invoke-Simulator cluster stop --dir $Cluster.Dir } catch { Write-Warning $_ }
    Remove-Item -Recurse -Force $Cluster.Dir -ErrorAction SilentlyContinue
}

# Path -> SHA-256 of every file under the cluster folder (data dirs, configs, bundles, chain), minus
# what a running node rewrites by itself (its log, its sockets: control and p2p, the shared epoch
# clock and registry).
function Get-ClusterHashes($Cluster) {
    $hashes = [ordered]@{}
    foreach ($f in Get-ChildItem -LiteralPath $Cluster.Dir -Recurse -File -Force | Sort-Object FullName) {
        $rel = [IO.Path]::GetRelativePath($Cluster.Dir, $f.FullName)
        # LOCK: Badger's pid file, rewritten by a node that restarts.
        if ($rel -match '(^|/)(node\.log|[^/]*\.sock|LOCK|chain/.*|.*\.pid)$') { continue }
        $hashes[$rel] = (Get-FileHash -LiteralPath $f.FullName -Algorithm SHA256).Hash
    }
    $hashes
}

# Runs a script in a child pwsh (the same pinned pwsh) with -NoProfile; stdin lines answer its prompts.
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)] [string] $Script, [string[]] $Answers = @(), [switch] $NonInteractive, [int] $TimeoutSec = 120)
    $file = Join-Path ([IO.Path]::GetTempPath()) ("kmp-child-" + [Guid]::NewGuid().ToString('N') + '.ps1')
    Set-Content -LiteralPath $file -Value $Script
    try {
        $psi = [Diagnostics.ProcessStartInfo]::new($script:PwshExe)
        foreach ($a in @($script:PwshArgs) + @('-NoProfile', '-NoLogo') + @(if ($NonInteractive) { '-NonInteractive' }) + @('-File', $file)) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $psi.Environment['KM_PESTER_MODULE'] = $script:ModuleDir
        $p = [Diagnostics.Process]::Start($psi)
        $err = $p.StandardError.ReadToEndAsync()
        $out = $p.StandardOutput.ReadToEndAsync()
        foreach ($line in $Answers) { $p.StandardInput.WriteLine($line) }
        $p.StandardInput.Close()
        if (-not $p.WaitForExit($TimeoutSec * 1000)) { $p.Kill($true); throw "child pwsh did not end within $TimeoutSec s: $($out.Result)" }
        [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out.Result; Error = $err.Result }
    }
    finally { Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue }
}

# Runs a script in a child pwsh on a real pseudo-terminal of the given size (util-linux `script`), the
# console an operator sees: the host's width is the terminal's. Output comes back without colours.
# $Keys, if given, is written to the terminal once $After appears in the output (e.g. "`u{3}" = Ctrl+C).
function Invoke-InConsole {
    param([Parameter(Mandatory)] [string] $Script, [int] $Columns = 80, [string] $Keys, [string] $After, [int] $KeysDelayMs = 0, [int] $TimeoutSec = 120)
    $file = Join-Path ([IO.Path]::GetTempPath()) ("kmp-tty-" + [Guid]::NewGuid().ToString('N') + '.ps1')
    Set-Content -LiteralPath $file -Value ("`$PSStyle.OutputRendering = 'PlainText'`n" + $Script)
    try {
        # noflsh: by default the terminal discards its pending input and output when it turns a typed
        # Ctrl+C into SIGINT. Keys written here race the host's cursor position queries (ESC[6n, sent
        # each time the progress bar is drawn, answered below): a Ctrl+C landing after an answer was
        # written but before pwsh read it, or after pwsh wrote a query that `script` had not yet
        # relayed, dropped that query or answer, and .NET's console then waited for it forever on the
        # pipeline thread, inside the host's progress rendering, where no StopProcessing reaches.
        # A person's terminal answers within microseconds; this scripted one, on a busy machine, not.
        # env --default-signal=INT: a runner started with SIGINT ignored (a background job of a
        # non-interactive shell) passes that on to every child, and the typed Ctrl+C would do nothing.
        $inner = "stty cols $Columns rows 200 noflsh; exec env --default-signal=INT '" + (@($script:PwshExe) + $script:PwshArgs -join "' '") + "' -NoProfile -NoLogo -File '$file'"
        $psi = [Diagnostics.ProcessStartInfo]::new('script')
        foreach ($a in @('-qefc', $inner, '/dev/null')) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $psi.Environment['KM_PESTER_MODULE'] = $script:ModuleDir
        $psi.Environment['TERM'] = 'xterm'
        $p = [Diagnostics.Process]::Start($psi)
        $err = $p.StandardError.ReadToEndAsync()
        $text = [Text.StringBuilder]::new()
        $buffer = [char[]]::new(4096)
        $sent = -not $Keys
        $answered = 0
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while ($true) {
            $read = $p.StandardOutput.ReadAsync($buffer, 0, $buffer.Length)
            while (-not $read.Wait(100)) {
                if ([DateTime]::UtcNow -gt $deadline) { $p.Kill($true); throw "console pwsh did not end within $TimeoutSec s: $text" }
            }
            if ($read.Result -eq 0) { break }
            $null = $text.Append($buffer, 0, $read.Result)
            # Answer the host's cursor position queries (ESC[6n) as a terminal does, so that progress
            # bars render instead of waiting for a reply.
            $queries = ([regex]::Matches($text.ToString(), "\x1b\[6n")).Count
            while ($answered -lt $queries) { $p.StandardInput.Write("`e[1;1R"); $answered++ }
            $p.StandardInput.Flush()
            if (-not $sent -and $text.ToString().Contains($After)) {
                if ($KeysDelayMs) { Start-Sleep -Milliseconds $KeysDelayMs }
                $p.StandardInput.Write($Keys); $p.StandardInput.Flush(); $sent = $true
            }
        }
        $p.WaitForExit()
        # Terminal control sequences (cursor keys mode, DSR queries) and CRs are not output.
        $clean = [regex]::Replace($text.ToString(), "\x1b(\[[0-9;?]*[A-Za-z]|[=>])", '') -replace "`r", ''
        [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $clean; Error = $err.Result; KeysSent = $sent }
    }
    finally { Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue }
}

# The journal's lock file stays after a run (UpgradeJournal keeps it, so that no third run locks a file
# no longer there); released means another open of it with FileShare.None (flock) succeeds.
function Test-LockReleased([string] $Path) {
    if (-not (Test-Path -LiteralPath $Path)) { return $true }
    try { [IO.File]::Open($Path, 'Open', 'ReadWrite', 'None').Dispose(); $true } catch [IO.IOException] { $false }
}
