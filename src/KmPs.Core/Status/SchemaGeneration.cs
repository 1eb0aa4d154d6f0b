namespace KmPs.Core.Status;

/// <summary>
/// The three shapes of oasis-node's control status that matter for key managers
/// (spec: oasis-control-api.md §2-§3).
/// </summary>
public enum SchemaGeneration
{
    /// <summary>22.2.x: flat <c>keymanager{status, may_generate, runtime_id, ...}</c>.</summary>
    V22_2 = 22,
    /// <summary>23.0.x: <c>keymanager{global, worker}</c>.</summary>
    V23_0 = 23,
    /// <summary>24.0 and later: <c>keymanager{status, secrets{status, worker}, churp}</c> and top-level <c>mode</c>.</summary>
    V24 = 24,
}

/// <summary>Status words of the key manager worker; CBOR integers 0-3 on the wire.</summary>
public static class KmStatusWords
{
    public const string Ready = "ready";
    public const string Starting = "starting";
    public const string Stopped = "stopped";
    public const string Disabled = "disabled";
    /// <summary>Not a node word: the status has no <c>keymanager</c> object (worker not enabled).</summary>
    public const string Absent = "absent";

    public static string FromWire(ulong value) => value switch
    {
        0 => Ready,
        1 => Starting,
        2 => Stopped,
        3 => Disabled,
        _ => $"unknown({value})",
    };

    public static ulong ToWire(string word) => word switch
    {
        Ready => 0,
        Starting => 1,
        Stopped => 2,
        Disabled => 3,
        _ => throw new ArgumentException($"'{word}' is not a key manager status word"),
    };
}
