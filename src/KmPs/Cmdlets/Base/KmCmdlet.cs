using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Collections.Concurrent;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.Lifecycle;
using KmPs.Remoting;
using KmPs.Core;

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

    /// <summary>The host of a node: its machine's, through its session, or this machine's (relative paths from the current directory).</summary>
    protected INodeHost HostOf(KmNode node) => NodeHosts.For(node, CurrentDirectory);

    /// <summary>The host of a node bound by property name: through -Session when given, else this machine.</summary>
    protected INodeHost HostOf(PSSession? session, string? name) => NodeHosts.For(session, name, CurrentDirectory);

    /// <summary>" on host" for messages about a node on another machine, "" for this one.</summary>
    protected static string OnMachine(INodeHost host) => host.Machine.Length == 0 ? "" : " on " + host.Machine;

    /// <summary>
    /// Runs one host operation and waits for it on the pipeline thread, writing its progress, verbose
    /// and warning records and running its scripts here as they come (Write* and scripts only on this
    /// thread); a stop request cancels it at once.
    /// </summary>
    protected T CallHost<T>(Func<IHostEvents, Task<T>> call, int parentProgressId = -1)
    {
        var events = new PipelineEvents(parentProgressId);
        var task = call(events);
        var handles = new[] { ((IAsyncResult)task).AsyncWaitHandle, events.Signal, Stopping.WaitHandle };
        while (!task.IsCompleted && !Stopping.IsCancellationRequested)
        {
            WaitHandle.WaitAny(handles);
            events.Drain(this);
        }
        events.Drain(this);
        return Await(task);
    }

    /// <summary>A host operation's reports, queued from any thread and acted on by <see cref="Drain"/> on the pipeline thread.</summary>
    private sealed class PipelineEvents : IHostEvents
    {
        private readonly ConcurrentQueue<Action<KmCmdlet>> _queue = new();
        private readonly int _parent;

        public PipelineEvents(int parent) => _parent = parent;

        public AutoResetEvent Signal { get; } = new(false);

        private void Post(Action<KmCmdlet> action)
        {
            _queue.Enqueue(action);
            Signal.Set();
        }

        public void Progress(HostProgress p) => Post(c => c.WriteProgress(new ProgressRecord(p.Id, p.Activity, p.Status)
        {
            PercentComplete = p.Percent, SecondsRemaining = p.SecondsRemaining, ParentActivityId = _parent,
            RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        }));

        public void Verbose(string text) => Post(c => c.WriteVerbose(text));
        public void Warning(string text) => Post(c => c.WriteWarning(text));

        public Task RunScriptAsync(string script, KmNode node, CancellationToken ct)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(c =>
            {
                try
                {
                    c.InvokeCommand.InvokeScript(c.SessionState, ScriptBlock.Create(script), node);
                    done.SetResult();
                }
                catch (RuntimeException e) when (e is not PipelineStoppedException)
                {
                    done.SetException(NodeLifecycle.ScriptFailed(node, script, e));
                }
                catch (Exception e) { done.SetException(e); }
            });
            return done.Task;
        }

        public void Drain(KmCmdlet cmdlet)
        {
            while (_queue.TryDequeue(out var action)) action(cmdlet);
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
