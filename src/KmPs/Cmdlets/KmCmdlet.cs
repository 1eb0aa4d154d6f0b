using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using KmPs.Inventory;
using KmPs.Remoting;

namespace KmPs.Cmdlets;

/// <summary>
/// Shared plumbing for the module's cmdlets: a cancellation token that StopProcessing (Ctrl+C)
/// cancels, blocking waits that honour it, and KmException → ErrorRecord with stable ids.
/// </summary>
public abstract class KmCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when the user presses Ctrl+C or the pipeline is stopped.</summary>
    protected new CancellationToken Stopping => _stopping.Token; // hides Cmdlet.Stopping (a bool) on purpose: every wait takes this token

    protected override void StopProcessing()
    {
        _stopping.Cancel();
        base.StopProcessing();
    }

    /// <summary>The caller's current file system directory, where relative paths start.</summary>
    /// <remarks>
    /// Read for every input item (Get-KmStatus parses each socket against it). PathInfo.ProviderPath
    /// costs about 0.2 ms a read (the engine resolves the PowerShell path through the provider each
    /// time), more than the rest of a warm Get-KmStatus besides its gRPC round trip; CurrentLocation
    /// and its Path cost about 1 µs. So when the current location is in the FileSystem provider, the
    /// provider path is kept beside the PowerShell path and drive root it was resolved from, and
    /// resolved again only when either differs (Set-Location, a drive with the same name and another
    /// root). Any other provider's location: the file system location, read as before.
    /// </remarks>
    protected string CurrentDirectory
    {
        get
        {
            try
            {
                var location = SessionState.Path.CurrentLocation;
                if (location.Provider.ImplementingType.FullName != FileSystemProviderType)
                    return SessionState.Path.CurrentFileSystemLocation.ProviderPath;
                var root = location.Drive?.Root;
                var cached = _lastLocation;
                if (cached is not null && string.Equals(cached.PsPath, location.Path, StringComparison.Ordinal)
                                       && string.Equals(cached.DriveRoot, root, StringComparison.Ordinal))
                    return cached.ProviderPath;
                var providerPath = location.ProviderPath;
                _lastLocation = new ResolvedLocation(location.Path, root, providerPath);
                return providerPath;
            }
            catch (Exception) { return Environment.CurrentDirectory; }
        }
    }

    private const string FileSystemProviderType = "Microsoft.PowerShell.Commands.FileSystemProvider";

    /// <summary>A FileSystem location's provider path and what it was resolved from (one per process; a new object each time, so reads never see half of one).</summary>
    private sealed record ResolvedLocation(string PsPath, string? DriveRoot, string ProviderPath);

    private static volatile ResolvedLocation? _lastLocation;

    /// <summary>An absolute path: relative paths start at the caller's current location.</summary>
    protected string ResolvePath(string path) =>
        string.IsNullOrWhiteSpace(path) ? path : Path.GetFullPath(path, CurrentDirectory);

    /// <summary>Waits for a task on the pipeline thread; a stop request ends the wait at once.</summary>
    protected T Await<T>(Task<T> task)
    {
        try
        {
            task.Wait(Stopping);
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            throw e.InnerExceptions[0];
        }
    }

    protected void Await(Task task) => Await(task.ContinueWith(t => { t.GetAwaiter().GetResult(); return true; },
        TaskContinuationOptions.ExecuteSynchronously));

    /// <summary>
    /// Runs a module command with these parameters on a remote node's machine through its session;
    /// its progress, verbose and warning records are written here as they arrive.
    /// </summary>
    private protected RemoteRun RunRemote(PSSession session, string nodeName, string command, IDictionary parameters, KmNode? node = null)
    {
        if (GetVariableValue("VerbosePreference") is ActionPreference.Continue) parameters["Verbose"] = true;
        var streams = new RemoteStreams();
        var task = KmRemoting.RunCommandAsync(session, nodeName, command, parameters, node, streams, Stopping);
        var handles = new[] { ((IAsyncResult)task).AsyncWaitHandle, streams.Signal, Stopping.WaitHandle };
        while (!task.IsCompleted && !Stopping.IsCancellationRequested)
        {
            WaitHandle.WaitAny(handles);
            Forward(streams);
        }
        Forward(streams);
        return Await(task);
    }

    /// <summary>One operation of the module's endpoint on a remote node's machine (for helpers outside the cmdlet).</summary>
    internal T Op<T>(PSSession session, string nodeName, string op, object arguments) => RemoteOp<T>(session, nodeName, op, arguments);

    /// <summary>One operation of the module's endpoint on a remote node's machine.</summary>
    protected T RemoteOp<T>(PSSession session, string nodeName, string op, object arguments) =>
        Await(KmRemoting.OpAsync<T>(session, nodeName, op, arguments, Stopping));

    /// <summary>Writes a remote command's results and its errors (as this command's errors, same ErrorIds).</summary>
    private protected void WriteRemote(RemoteRun run, object? target)
    {
        foreach (var o in run.Output) WriteObject(o);
        foreach (var e in run.Errors) WriteKmError(e, target);
    }

    private void Forward(RemoteStreams streams)
    {
        while (streams.TryTake(out var record))
        {
            switch (record)
            {
                case ProgressRecord p: WriteProgress(p); break;
                case VerboseRecord v: WriteVerbose(v.Message); break;
                case WarningRecord w: WriteWarning(w.Message); break;
            }
        }
    }

    public static ErrorRecord ToErrorRecord(KmException e, object? target = null)
    {
        var category = Enum.TryParse<ErrorCategory>(e.Category.ToString(), out var c) ? c : ErrorCategory.NotSpecified;
        var record = new ErrorRecord(e, e.ErrorId, category, target ?? e.Target);
        if (e.RecommendedAction is not null) record.ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = e.RecommendedAction };
        return record;
    }

    protected static ErrorRecord Error(string errorId, ErrorCategory category, string message, object? target, Exception? inner = null) =>
        new(new KmException(errorId, Enum.Parse<KmErrorCategory>(category.ToString(), true), message, target, inner), errorId, category, target);

    /// <summary>A per-item failure: the pipeline goes on with the next item.</summary>
    protected void WriteKmError(KmException e, object? target = null) => WriteError(ToErrorRecord(e, target));

    /// <summary>Bad invocation: stops the command.</summary>
    protected void ThrowKmError(KmException e, object? target = null) => ThrowTerminatingError(ToErrorRecord(e, target));
}
