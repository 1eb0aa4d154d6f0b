namespace KmPs.Core.Wire;

/// <summary>CBOR that is malformed or does not have the shape a model expects.</summary>
public sealed class CborDecodeException : Exception
{
    public CborDecodeException(string message, Exception? inner = null) : base(message, inner) { }
}
