namespace KmPs.Core.Control;

/// <summary>The stable ErrorIds of a node's control socket and its gRPC calls (scripts match on these).</summary>
public static class ControlErrorIds
{
    public const string CborDecodeError = nameof(CborDecodeError);
    public const string ConnectionFailed = nameof(ConnectionFailed);
    public const string ConnectionRefused = nameof(ConnectionRefused);
    public const string ControlTimeout = nameof(ControlTimeout);
    public const string GrpcError = nameof(GrpcError);
    public const string NotGrpcPeer = nameof(NotGrpcPeer);
    public const string SocketAccessDenied = nameof(SocketAccessDenied);
    public const string SocketNotFound = nameof(SocketNotFound);
    public const string StatusShapeUnknown = nameof(StatusShapeUnknown);
}
