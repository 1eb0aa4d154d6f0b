namespace KmPs.Core.LocalState;

/// <summary>The stable ErrorIds of a node's sealed local state and its guarded wipe (scripts match on these).</summary>
public static class LocalStateErrorIds
{
    public const string LocalStateUnreadable = nameof(LocalStateUnreadable);
    public const string DataDirNotFound = nameof(DataDirNotFound);
    public const string DataDirNotNode = nameof(DataDirNotNode);
    public const string DataDirUnreadable = nameof(DataDirUnreadable);
    public const string InvalidDataDir = nameof(InvalidDataDir);
    public const string LinkOutOfDataDir = nameof(LinkOutOfDataDir);
    public const string LocalStateAppeared = nameof(LocalStateAppeared);
    public const string LocalStateExists = nameof(LocalStateExists);
    public const string LocalStateInUse = nameof(LocalStateInUse);
    public const string LocalStateMountPoint = nameof(LocalStateMountPoint);
    public const string LocalStateNotAFolder = nameof(LocalStateNotAFolder);
    public const string NoLocalStateBackup = nameof(NoLocalStateBackup);
    public const string NodeRunning = nameof(NodeRunning);
    public const string NotKeyManagerRuntime = nameof(NotKeyManagerRuntime);
    public const string WipeRefused = nameof(WipeRefused);
}
