namespace KmPs.Core;

/// <summary>
/// Error categories, named like System.Management.Automation.ErrorCategory so the cmdlets can map
/// them one to one (this library does not reference PowerShell).
/// </summary>
public enum KmErrorCategory
{
    NotSpecified, InvalidArgument, InvalidData, InvalidOperation, ObjectNotFound, ResourceUnavailable,
    ConnectionError, ProtocolError, OperationTimeout, PermissionDenied, InvalidResult, OperationStopped,
    ReadError, WriteError, ResourceExists, SecurityError,
}

/// <summary>
/// A failure with a stable ErrorId that scripts can match on (FullyQualifiedErrorId), a category,
/// and the object it is about. Every error the module reports on purpose is one of these.
/// </summary>
public class KmException : Exception
{
    public string ErrorId { get; }
    public KmErrorCategory Category { get; }
    public object? Target { get; }
    /// <summary>One sentence on what to do about it, shown as the error's recommended action.</summary>
    public string? RecommendedAction { get; init; }

    public KmException(string errorId, KmErrorCategory category, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
    }
}
