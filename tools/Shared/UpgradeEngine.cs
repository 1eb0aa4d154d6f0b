using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;

namespace KmPs.Tools;

/// <summary>The parameters of one Invoke-KmSafeUpgrade call.</summary>
public sealed record UpgradeCall(string InventoryPath, string BundlePath, string JournalPath, bool Confirm, int TimeoutSec, int NodeTimeoutSec, bool WhatIf = false);

/// <summary>How one Invoke-KmSafeUpgrade call ended.</summary>
/// <param name="Target">The error's TargetObject: a stopped run's UpgradeStopReport (each node's state and the advice), a refused pre-flight's problems.</param>
public sealed record UpgradeOutcome(bool Success, bool Stopped, string? ErrorId, string? Message, TimeSpan Elapsed, object? Target = null)
{
    public string Describe() => Success ? "completed" : Stopped ? "stopped (pipeline)" : $"{ErrorId}: {FirstLine(Message)}";
    private static string FirstLine(string? s) => s is null ? "" : s.Split('\n')[0];
}

/// <summary>
/// A PowerShell 7.6 engine (Microsoft.PowerShell.Core only) with the built module imported from
/// module/OasisKeyManager beside this program (build/CopyModule.targets), under a given host.
/// </summary>
public sealed class UpgradeEngine : IDisposable
{
    private readonly object _gate = new();
    private PowerShell? _running;

    public static string ModuleManifest => Path.Combine(AppContext.BaseDirectory, "module", "OasisKeyManager", "OasisKeyManager.psd1");

    public Runspace Runspace { get; }

    public UpgradeEngine(PSHost? host = null)
    {
        if (!File.Exists(ModuleManifest)) throw new InvalidOperationException($"the built module is missing at {ModuleManifest}; build the solution first");
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(new[] { ModuleManifest });
        Runspace = host is null ? RunspaceFactory.CreateRunspace(iss) : RunspaceFactory.CreateRunspace(host, iss);
        Runspace.ThreadOptions = PSThreadOptions.ReuseThread;
        Runspace.Open();
    }

    /// <summary>Runs Invoke-KmSafeUpgrade; a terminating error or a stop is an outcome, not an exception.</summary>
    public UpgradeOutcome Run(UpgradeCall call)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = Runspace;
        ps.AddCommand("Invoke-KmSafeUpgrade")
            .AddParameter("InventoryPath", call.InventoryPath)
            .AddParameter("BundlePath", call.BundlePath)
            .AddParameter("JournalPath", call.JournalPath)
            .AddParameter(call.WhatIf ? "WhatIf" : "Confirm", call.WhatIf || call.Confirm)
            .AddParameter("TimeoutSec", call.TimeoutSec)
            .AddParameter("NodeTimeoutSec", call.NodeTimeoutSec);
        lock (_gate) _running = ps;
        var sw = Stopwatch.StartNew();
        try
        {
            var output = ps.Invoke();
            if (ps.InvocationStateInfo.State == PSInvocationState.Stopped) return new UpgradeOutcome(false, true, null, null, sw.Elapsed);
            var result = output.Select(o => o?.BaseObject).LastOrDefault(o => o?.GetType().Name == "UpgradeResult");
            var ok = result is not null && (bool)(PSObject.AsPSObject(result).Properties["Success"]?.Value ?? false);
            var error = ps.Streams.Error.FirstOrDefault();
            return new UpgradeOutcome(ok && !ps.HadErrors, false, error is null ? (ok ? null : "NoResult") : ErrorId(error), error?.ToString(), sw.Elapsed, Base(error?.TargetObject));
        }
        catch (PipelineStoppedException) { return new UpgradeOutcome(false, true, null, null, sw.Elapsed); }
        catch (RuntimeException e)
        {
            return e.ErrorRecord is { } r
                ? new UpgradeOutcome(false, false, ErrorId(r), r.Exception?.Message ?? r.ToString(), sw.Elapsed, Base(r.TargetObject))
                : new UpgradeOutcome(false, false, e.GetType().Name, e.Message, sw.Elapsed);
        }
        finally { lock (_gate) _running = null; }
    }

    private static object? Base(object? o) => o is PSObject p ? p.BaseObject : o;

    /// <summary>Stops the running call (as Ctrl+C would); false if none was running.</summary>
    public bool Stop()
    {
        PowerShell? ps;
        lock (_gate) ps = _running;
        if (ps is null) return false;
        // PowerShell.Stop() from another thread can throw NullReferenceException from inside the engine
        // when it lands between two commands; the pipeline is stopping or stopped anyway, or a retry stops it.
        for (var attempt = 0; ; attempt++)
        {
            try { ps.Stop(); return true; }
            catch (ObjectDisposedException) { return false; }
            catch (NullReferenceException) when (attempt < 5) { Thread.Sleep(20); }
            catch (NullReferenceException) { return ps.InvocationStateInfo.State is PSInvocationState.Stopping or PSInvocationState.Stopped; }
        }
    }

    /// <summary>"UpgradeStopped" from "UpgradeStopped,Invoke-KmSafeUpgrade".</summary>
    private static string ErrorId(ErrorRecord r) => r.FullyQualifiedErrorId.Split(',')[0];

    public void Dispose() => Runspace.Dispose();
}
