namespace KmPs.Core.Inventory;

/// <summary>What Stop-KmNode / Start-KmNode did.</summary>
public sealed class KmLifecycleResult
{
    public string Node { get; init; } = "";
    public string Action { get; init; } = "";
    public string Method { get; init; } = "";
    /// <summary>Stopped (socket silent) or Started (socket answers).</summary>
    public string State { get; init; } = "";
    public TimeSpan Duration { get; init; }
}
