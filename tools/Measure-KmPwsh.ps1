#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Two figures of the published module in real pwsh (prints them; not a test).
.DESCRIPTION
    1. Cold: a fresh `pwsh -NoProfile` that imports the published module and calls Get-KmStatus once
       against a running simulated node, minus a bare `pwsh -NoProfile -c exit`; median of -Runs
       (goal < 250 ms). Beside it, an empty script module's import timed the same way: the engine's
       cost of any first Import-Module, which the difference includes.
    2. Warm: Get-KmStatus per call in one session, next to a trivial compiled cmdlet in the same loop
       (Get-Variable, and ConvertFrom-KmExtraInfo on a tiny input): the engine's own floor; medians
       over -Calls calls (goal < 0.3 ms above the floor). Beside them, the module's own client alone
       (KmPs.Core's ControlClient.GetStatusAsync called from the loop, no cmdlet): the gRPC round trip
       to the simulated node that every Get-KmStatus contains, so that what the cmdlet adds shows apart.
    Publishes the module with build.ps1 into a temp folder (or takes -ModulePath) and creates a
    one-node simulated cluster (KmPs.Simulator from artifacts/bin). Run it on an idle machine.
.EXAMPLE
    dotnet pwsh tools/Measure-KmPwsh.ps1
.EXAMPLE
    dotnet pwsh tools/Measure-KmPwsh.ps1 -ModulePath ./out/OasisKeyManager -Runs 20 -Calls 5000
#>
[CmdletBinding()]
param(
    [string] $ModulePath,
    [string] $SimulatorDll,
    [int] $Runs = 10,
    [int] $Calls = 2000
)
$ErrorActionPreference = 'Stop'
# The figures mean little on a busy machine: the load is printed with them.
$loadBefore = if (Test-Path /proc/loadavg) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' }
$repo = Resolve-Path (Join-Path $PSScriptRoot '..')
$temp = Join-Path '/tmp' ('kmb-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
$null = New-Item -ItemType Directory $temp
function Median([double[]] $xs) { $s = $xs | Sort-Object; if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 } }

try {
    if (-not $ModulePath) {
        $ModulePath = Join-Path $temp 'OasisKeyManager'
        & (Join-Path $repo 'build.ps1') -OutputPath $ModulePath | Out-Null
    }
    $manifest = Join-Path (Resolve-Path $ModulePath) 'OasisKeyManager.psd1'
    if (-not $SimulatorDll) {
        $SimulatorDll = @('release', 'debug' | ForEach-Object { Join-Path $repo "artifacts/bin/KmPs.Simulator/$_/KmPs.Simulator.dll" } | Where-Object { Test-Path $_ })[0]
        if (-not $SimulatorDll) { throw 'No built KmPs.Simulator.dll under artifacts/bin; dotnet build src/KmPs.Simulator first.' }
    }
    $cluster = Join-Path $temp 'c'
    & dotnet $SimulatorDll cluster create --dir $cluster --nodes 1 --epoch-ms 1000 | Out-Null
    & dotnet $SimulatorDll cluster start --dir $cluster | Out-Null
    if ($LASTEXITCODE) { throw 'the simulated node did not start' }
    $socket = "unix:$cluster/nodes/km1/data/internal.sock"

    # ---- 1. cold: fresh pwsh, import + first Get-KmStatus, minus a bare pwsh
    $exe = [Environment]::ProcessPath
    $pre = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    function Time-Pwsh([string] $command) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $out = & $exe @pre -NoProfile -NonInteractive -Command $command
        $clock.Stop()
        if ($LASTEXITCODE) { throw "pwsh -c '$command' failed: $out" }
        $clock.Elapsed.TotalMilliseconds
    }
    $probe = "Import-Module '$manifest'; if ((Get-KmStatus '$socket').Status -ne 'ready') { exit 3 }"
    # The engine's own first Import-Module (module analysis, manifest and script machinery), paid by any
    # module: an empty script module. The pinned pwsh (the .NET tool) carries System.Management.Automation
    # as IL only, so each engine path a first import takes is JIT-compiled then; an installed pwsh ships it
    # ReadyToRun-compiled.
    $empty = Join-Path $temp 'empty/empty.psm1'
    $null = New-Item -ItemType File -Force $empty -Value 'function Get-KmbNothing {}'
    $emptyProbe = "Import-Module '$empty'"
    $null = Time-Pwsh 'exit'; $null = Time-Pwsh $probe; $null = Time-Pwsh $emptyProbe   # warm the file cache
    $bare = [double[]]@(); $full = [double[]]@(); $emptyRuns = [double[]]@()
    for ($i = 0; $i -lt $Runs; $i++) { $bare += Time-Pwsh 'exit'; $full += Time-Pwsh $probe; $emptyRuns += Time-Pwsh $emptyProbe }   # interleaved
    $bareMedian = Median $bare; $fullMedian = Median $full; $emptyMedian = Median $emptyRuns

    # ---- 2. warm: per call in one session, the module's cmdlet next to trivial compiled cmdlets
    Import-Module $manifest
    $extra = 'omlzaWduYXR1cmVYQG7nDuKTOUKAlJAfukdY6Xljox376lCLI0cIP0zPw2B8abJxa31j+NoQAWA0KZuHD41XPyICmjXDTpjDXukEEgVtaW5pdF9yZXNwb25zZaNoY2hlY2tzdW1YIEWZF5YaFQChstrZ9u1UdgyqZCagmNfghvyQna9WkmvyaWlzX3NlY3VyZfVvcG9saWN5X2NoZWNrc3VtWCCsrqRzYjx05t+KoCYz7wFSdKJ720g2LQBAsRKXmClMvw=='
    # KmPs.Core loads in the module's own load context: its types are reached through the loaded assembly.
    $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'KmPs.Core' } | Select-Object -First 1
    $clientType = $core.GetType('KmPs.Core.Control.ControlClient', $true); $addressType = $core.GetType('KmPs.Core.Control.SocketAddress', $true)
    $client = $clientType::For($addressType::Parse($socket, $null))
    $rawTimeout = [Nullable[TimeSpan]]::new([TimeSpan]::FromSeconds(10)); $none = [Threading.CancellationToken]::None
    $status = [double[]]::new($Calls); $var = [double[]]::new($Calls); $conv = [double[]]::new($Calls); $raw = [double[]]::new($Calls)
    $clock = [Diagnostics.Stopwatch]::new()
    for ($i = 0; $i -lt 200; $i++) { $null = Get-KmStatus $socket; $null = Get-Variable -Name PID; $null = ConvertFrom-KmExtraInfo $extra; $null = $client.GetStatusAsync($rawTimeout, $none).GetAwaiter().GetResult() }
    for ($i = 0; $i -lt $Calls; $i++) {
        $clock.Restart(); $null = Get-KmStatus $socket; $status[$i] = $clock.Elapsed.TotalMilliseconds
        $clock.Restart(); $null = Get-Variable -Name PID; $var[$i] = $clock.Elapsed.TotalMilliseconds
        $clock.Restart(); $null = ConvertFrom-KmExtraInfo $extra; $conv[$i] = $clock.Elapsed.TotalMilliseconds
        $clock.Restart(); $null = $client.GetStatusAsync($rawTimeout, $none).GetAwaiter().GetResult(); $raw[$i] = $clock.Elapsed.TotalMilliseconds
    }
    $s = Median $status; $v = Median $var; $c = Median $conv; $r = Median $raw
    $floor = [math]::Max($v, $c)

    "pwsh $($PSVersionTable.PSVersion), $([Environment]::ProcessorCount) cores; module $ModulePath"
    "load average before / after: $loadBefore / $(if (Test-Path /proc/loadavg) { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' })"
    ''
    "1. cold (fresh pwsh -NoProfile, median of $Runs)"
    '   bare pwsh -c exit:                      {0,8:N1} ms' -f $bareMedian
    '   Import-Module + first Get-KmStatus:     {0,8:N1} ms' -f $fullMedian
    '   difference:                             {0,8:N1} ms   (goal < 250 ms)' -f ($fullMedian - $bareMedian)
    '   of which any first Import-Module:       {0,8:N1} ms   (an empty script module, minus bare)' -f ($emptyMedian - $bareMedian)
    ''
    "2. warm (one session, median per call of $Calls)"
    '   Get-KmStatus (one local node):          {0,8:N3} ms' -f $s
    '   Get-Variable -Name PID (floor):         {0,8:N3} ms' -f $v
    '   ConvertFrom-KmExtraInfo tiny (floor):   {0,8:N3} ms' -f $c
    '   Get-KmStatus above the higher floor:    {0,8:N3} ms   (goal < 0.3 ms)' -f ($s - $floor)
    '   client alone, gRPC round trip + parse:  {0,8:N3} ms   (ControlClient.GetStatusAsync from the loop)' -f $r
    '   Get-KmStatus above the client alone:    {0,8:N3} ms   (the cmdlet and the engine around it)' -f ($s - $r)
}
finally {
    if (Test-Path $temp/c) { & dotnet $SimulatorDll cluster stop --dir "$temp/c" | Out-Null }
    Remove-Item -Recurse -Force $temp -ErrorAction SilentlyContinue
}
