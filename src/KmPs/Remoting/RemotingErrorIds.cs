namespace KmPs.Remoting;

/// <summary>The stable ErrorIds of nodes reached through a remoting session (scripts match on these).</summary>
public static class RemotingErrorIds
{
    public const string InvalidPeer = nameof(InvalidPeer);
    public const string InvalidUpload = nameof(InvalidUpload);
    public const string ModuleNotInstalled = nameof(ModuleNotInstalled);
    public const string ModuleVersionMismatch = nameof(ModuleVersionMismatch);
    public const string NoSession = nameof(NoSession);
    /// <summary>An operation on the node's machine failed with an error that carried no ErrorId of its own: a file access denied.</summary>
    public const string RemoteAccessDenied = nameof(RemoteAccessDenied);
    /// <summary>The same, an I/O error.</summary>
    public const string RemoteIOError = nameof(RemoteIOError);
    /// <summary>The same, any other error.</summary>
    public const string RemoteOperationFailed = nameof(RemoteOperationFailed);
    /// <summary>The node's machine answered with an error that named no ErrorId.</summary>
    public const string RemoteError = nameof(RemoteError);
    public const string RemoteOperationUnknown = nameof(RemoteOperationUnknown);
    public const string RemoteRequestInvalid = nameof(RemoteRequestInvalid);
    public const string RemoteResultInvalid = nameof(RemoteResultInvalid);
    public const string RemoteResultUnknown = nameof(RemoteResultUnknown);
    public const string SessionLost = nameof(SessionLost);
}
