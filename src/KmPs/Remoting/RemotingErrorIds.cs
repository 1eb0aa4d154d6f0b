namespace KmPs.Remoting;

/// <summary>The stable ErrorIds of nodes reached through a remoting session (scripts match on these).</summary>
public static class RemotingErrorIds
{
    public const string InvalidPeer = nameof(InvalidPeer);
    public const string InvalidUpload = nameof(InvalidUpload);
    public const string ModuleNotInstalled = nameof(ModuleNotInstalled);
    public const string ModuleVersionMismatch = nameof(ModuleVersionMismatch);
    public const string NoSession = nameof(NoSession);
    public const string RemoteOperationUnknown = nameof(RemoteOperationUnknown);
    public const string RemoteRequestInvalid = nameof(RemoteRequestInvalid);
    public const string RemoteResultInvalid = nameof(RemoteResultInvalid);
    public const string RemoteResultUnknown = nameof(RemoteResultUnknown);
    public const string SessionLost = nameof(SessionLost);
}
