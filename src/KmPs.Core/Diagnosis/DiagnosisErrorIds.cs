namespace KmPs.Core.Diagnosis;

/// <summary>The stable ErrorIds of reading a node's log (scripts match on these).</summary>
public static class DiagnosisErrorIds
{
    public const string LogNotFound = nameof(LogNotFound);
    public const string LogUnreadable = nameof(LogUnreadable);
}
