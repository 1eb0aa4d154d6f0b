using KmPs.Core.Hosting;

namespace KmPs.Core.Diagnosis;

/// <summary>Reads the tail of a node's log (it is being written while read) and finds the known problems in it.</summary>
public static class LogScanner
{
    public static LogScan Scan(string path, string? name, int tail)
    {
        try
        {
            if (!File.Exists(path))
                throw new KmException(DiagnosisErrorIds.LogNotFound, KmErrorCategory.ObjectNotFound, $"No log file at {path}.", path)
                {
                    RecommendedAction = "Point -Path at the node's log.file (oasis-node logs to stdout/journald unless log.file is set).",
                };
            var lines = new Queue<string>();
            using (var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)))
            {
                for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
                {
                    lines.Enqueue(line);
                    if (lines.Count > tail) lines.Dequeue();
                }
            }
            return new LogScan { Path = path, LinesRead = lines.Count, Problems = UpgradeProblemFinder.Scan(lines, name ?? path, path).ToArray() };
        }
        catch (IOException e) { throw new KmException(DiagnosisErrorIds.LogUnreadable, KmErrorCategory.ReadError, $"Cannot read {path}: {e.Message}", path, e); }
        catch (UnauthorizedAccessException e) { throw new KmException(DiagnosisErrorIds.LogUnreadable, KmErrorCategory.PermissionDenied, $"Cannot read {path}: {e.Message}", path, e); }
    }
}
