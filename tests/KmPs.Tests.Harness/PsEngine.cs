using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;
using KmPs.Tests.Support;

namespace KmPs.Tests.Harness;

/// <summary>
/// A real PowerShell 7.6 engine (Microsoft.PowerShell.SDK: the whole engine, with the Utility,
/// Management and Security commands pwsh has) with the built module imported, as a user gets it
/// with Import-Module.
/// </summary>
public sealed class PsEngine : IDisposable
{
    public Runspace Runspace { get; }

    public PsEngine(PSHost? host = null, bool importModule = true)
    {
        var iss = InitialSessionState.CreateDefault2();
        if (importModule) iss.ImportPSModule(new[] { TestPaths.ModuleManifest });
        Runspace = host is null ? RunspaceFactory.CreateRunspace(iss) : RunspaceFactory.CreateRunspace(host, iss);
        Runspace.Open();
    }

    /// <param name="watch">Called before the script runs, say to act on its progress records as they come.</param>
    public PsResult Run(string script, IDictionary<string, object?>? variables = null, Action<PowerShell>? watch = null)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = Runspace;
        watch?.Invoke(ps);
        if (variables is not null)
            foreach (var (k, v) in variables) Runspace.SessionStateProxy.SetVariable(k, v);
        ps.AddScript(script);
        Collection<PSObject> output;
        Exception? terminating = null;
        try { output = ps.Invoke(); }
        catch (RuntimeException e) { output = new(); terminating = e; }
        return new PsResult(output.ToList(), ps.Streams.Error.ToList(), ps.Streams.Verbose.ToList(),
            ps.Streams.Warning.ToList(), ps.Streams.Progress.ToList(), terminating);
    }

    public void Dispose() => Runspace.Dispose();
}

public sealed record PsResult(
    List<PSObject> Output, List<ErrorRecord> Errors, List<VerboseRecord> Verbose, List<WarningRecord> Warnings,
    List<ProgressRecord> Progress, Exception? Terminating)
{
    public T Single<T>() => Assert.IsType<T>(Assert.Single(Output).BaseObject);

    /// <summary>Fails with the errors' text when the script did not run cleanly.</summary>
    public PsResult AssertClean()
    {
        if (Terminating is not null) Assert.Fail("terminating error: " + Terminating);
        if (Errors.Count > 0) Assert.Fail("errors: " + string.Join("\n", Errors.Select(e => $"{e.FullyQualifiedErrorId}: {e}")));
        return this;
    }
}
