namespace KmPs.Core.Status;

/// <summary>The stable ErrorIds of node status input (scripts match on these).</summary>
public static class StatusErrorIds
{
    public const string InvalidExtraInfo = nameof(InvalidExtraInfo);
    public const string NoKeyManagerRuntime = nameof(NoKeyManagerRuntime);
}
