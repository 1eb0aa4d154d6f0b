namespace KmPs.Core.Inventory;

/// <summary>The stable ErrorIds of inventory files and nodes (scripts match on these).</summary>
public static class InventoryErrorIds
{
    public const string ConfigSocketMismatch = nameof(ConfigSocketMismatch);
    public const string InvalidLifecycle = nameof(InvalidLifecycle);
    public const string InvalidNodeName = nameof(InvalidNodeName);
    public const string InvalidPath = nameof(InvalidPath);
    public const string InvalidPort = nameof(InvalidPort);
    public const string InvalidSocketAddress = nameof(InvalidSocketAddress);
    public const string InventoryDuplicate = nameof(InventoryDuplicate);
    public const string InventoryEmpty = nameof(InventoryEmpty);
    public const string InventoryInvalid = nameof(InventoryInvalid);
    public const string InventoryNotFound = nameof(InventoryNotFound);
    public const string InventoryUnreadable = nameof(InventoryUnreadable);
    public const string NodeNotInInventory = nameof(NodeNotInInventory);
    public const string SessionFailed = nameof(SessionFailed);
}
