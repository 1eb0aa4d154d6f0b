using System.Text.Json;

namespace KmPs.Core.Orchestration;

/// <summary>A completed step in the journal.</summary>
public sealed class JournalEntry
{
    public string Key { get; set; } = "";
    public DateTimeOffset At { get; set; }
    public string? Detail { get; set; }
}

/// <summary>The halves a run chose, kept so a resumed run follows the same plan.</summary>
public sealed class JournalHalves
{
    public List<string> FirstHalf { get; set; } = new();
    public List<string> SecondHalf { get; set; } = new();
    public List<string> Skipped { get; set; } = new();
}

/// <summary>
/// The upgrade journal: every completed step is written (atomically, fsync'd) before the next one
/// starts, so a run that was killed can resume where it stopped. A journal belongs to one plan
/// (same nodes, bundle and version); another plan's journal is refused rather than mixed.
/// A run that begins holds an exclusive lock on <c>&lt;journal&gt;.lock</c> until it is disposed, so
/// two runs over one journal (two terminals, a retried CI job) cannot both stop and wipe nodes.
/// </summary>
public sealed class UpgradeJournal : IDisposable
{
    private sealed class Document
    {
        public string PlanId { get; set; } = "";
        public string NewVersion { get; set; } = "";
        public DateTimeOffset Started { get; set; }
        public DateTimeOffset? Finished { get; set; }
        public JournalHalves? Halves { get; set; }
        public List<JournalEntry> Completed { get; set; } = new();
        /// <summary>The step that started and has not been recorded as done (a run stopped in the middle of it).</summary>
        public string? InProgress { get; set; }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly Document _doc;

    public string Path { get; }
    public bool Resumed { get; }
    public bool IsFinished => _doc.Finished is not null;
    public IReadOnlyList<JournalEntry> Completed => _doc.Completed;
    /// <summary>The halves of the plan being resumed; null for a new run.</summary>
    public JournalHalves? Halves => Resumed ? _doc.Halves : null;

    /// <summary>The journal file's text when it was opened (null: no file), to notice another run's writes.</summary>
    private string? _openedText;
    private FileStream? _lock;

    public string LockPath => Path + ".lock";

    private UpgradeJournal(string path, Document doc, bool resumed)
    {
        Path = path;
        _doc = doc;
        Resumed = resumed;
        _openedText = File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <param name="create">False for -WhatIf: read an existing journal but write nothing.</param>
    public static UpgradeJournal Open(string path, string planId, string newVersion, bool create = true)
    {
        path = System.IO.Path.GetFullPath(path);
        if (File.Exists(path))
        {
            Document? doc;
            try { doc = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), Json); }
            catch (JsonException e)
            {
                throw new KmException(UpgradeErrorIds.JournalInvalid, KmErrorCategory.InvalidData, $"The journal {path} is not readable: {e.Message}", path, e);
            }
            // A journal whose run never began (refused by the pre-flight: nothing was changed) holds
            // nothing to resume or protect; any plan may start afresh over it.
            var begun = doc is null || doc.Halves is not null || doc.Completed.Count > 0;
            if (begun && (doc is null || doc.PlanId != planId))
                throw new KmException(UpgradeErrorIds.JournalMismatch, KmErrorCategory.InvalidOperation,
                    $"The journal {path} belongs to another upgrade (other nodes, bundle or version).", path)
                {
                    RecommendedAction = "Run with the same nodes and bundle to resume it, or give another -JournalPath for a new upgrade.",
                };
            if (doc!.Finished is null && doc.Halves is not null) return new UpgradeJournal(path, doc, resumed: true) { _readOnly = !create };
            // A finished journal of the same plan: start afresh (nothing to resume).
        }
        var fresh = new UpgradeJournal(path, new Document { PlanId = planId, NewVersion = newVersion, Started = DateTimeOffset.UtcNow }, false)
        {
            _readOnly = !create,
        };
        // Nothing is written until Begin: a run refused by its pre-flight leaves no file behind.
        return fresh;
    }

    /// <summary>Takes the run's lock, then records the plan's halves before the first step.</summary>
    public void Begin(UpgradePlan plan)
    {
        // A plan that changes nothing (every node already upgraded: only the final verification) has
        // nothing to resume; it leaves the journal of the run that did the upgrade as it was.
        if (!Resumed && !plan.Steps.Any(s => s.IsDestructive)) _readOnly = true;
        if (_readOnly) return;
        AcquireLock();
        if (_doc.Halves is not null) return;
        _doc.Halves = new JournalHalves { FirstHalf = plan.FirstHalf.ToList(), SecondHalf = plan.SecondHalf.ToList(), Skipped = plan.Skipped.ToList() };
        Save();
    }

    public bool IsDone(string key) => _doc.Completed.Any(e => e.Key == key);

    /// <summary>
    /// Nodes a resumed run may find changed: those with a completed step, and the node of a step that
    /// started but was not recorded (its stop may have happened, so it may be down).
    /// </summary>
    public IReadOnlyCollection<string> TouchedNodes =>
        _doc.Completed.Select(e => e.Key).Append(_doc.InProgress).OfType<string>().Select(k => k.Split(':')[0]).Distinct().ToList();

    /// <summary>Records that a step starts, before it changes anything.</summary>
    public void Starting(string key)
    {
        _doc.InProgress = key;
        Save();
    }

    public void Record(string key, string? detail = null)
    {
        if (!IsDone(key)) _doc.Completed.Add(new JournalEntry { Key = key, At = DateTimeOffset.UtcNow, Detail = detail });
        _doc.InProgress = null;
        Save();
    }

    /// <summary>A resumed run found these steps undone on the node (see <see cref="ResumeCheck"/>): they are done again.</summary>
    public void Forget(IEnumerable<string> keys)
    {
        var gone = keys.ToHashSet();
        if (_doc.Completed.RemoveAll(e => gone.Contains(e.Key)) > 0) Save();
    }

    /// <summary>The detail a done step recorded (a wipe's backup path), or null.</summary>
    public string? DetailOf(string key) => _doc.Completed.FirstOrDefault(e => e.Key == key)?.Detail;

    public void Finish()
    {
        _doc.Finished = DateTimeOffset.UtcNow;
        Save();
    }

    private bool _readOnly;

    // Taken at Begin, not Open: a run refused by its pre-flight leaves no file behind. Whatever another
    // run wrote between this run's Open and Begin makes this run's picture stale, so it is refused too.
    // The lock file stays after the run (deleting it would let a third run lock a file no longer there).
    private void AcquireLock()
    {
        if (_lock is not null) return;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        try { _lock = new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e)
        {
            throw new KmException(UpgradeErrorIds.JournalInUse, KmErrorCategory.ResourceUnavailable,
                $"Another Invoke-KmSafeUpgrade run is using the journal {Path} (it holds {LockPath}). Two runs at once could take both halves down.", Path, e)
            {
                RecommendedAction = "Let the other run finish, or stop it (Ctrl+C), then run the command again: it resumes from the journal.",
            };
        }
        var now = File.Exists(Path) ? File.ReadAllText(Path) : null;
        if (now != _openedText)
        {
            Dispose();
            throw new KmException(UpgradeErrorIds.JournalChanged, KmErrorCategory.ResourceUnavailable,
                $"The journal {Path} was changed by another run while this one was checking the nodes; nothing was changed by this run.", Path)
            {
                RecommendedAction = "Run the same command again: it reads the journal afresh and resumes where the other run stopped.",
            };
        }
    }

    /// <summary>Releases the run's lock.</summary>
    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }

    private void Save()
    {
        if (_readOnly) return;
        AcquireLock();
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var tmp = Path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(f, _doc, Json);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, Path, overwrite: true);
    }
}
