using System.Collections;
using System.Management.Automation;
using KmPs.Bundles;
using KmPs.Inventory;
using KmPs.Orchestration;
using KmPs.Remoting;

namespace KmPs.Loading;

/// <summary>
/// What the module's script part (OasisKeyManager.psm1) needs of KmPs.Core. KmPs.Core loads in the
/// module's own load context (<see cref="DependencyLoadContext"/>), and PowerShell's type literals
/// deliberately do not see types of another context: the script cannot write
/// <c>[KmPs.Orchestration.UpgradePlanner]</c>. It takes the types from here instead and calls their
/// static members through them (<c>$Km.UpgradePlanner::Plan(...)</c>); instances need nothing.
/// </summary>
public static class ScriptSupport
{
    /// <summary>The Core types the script uses, by their short name.</summary>
    public static Hashtable Types { get; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(KmNode)] = typeof(KmNode),
        [nameof(KmException)] = typeof(KmException),
        [nameof(KmErrorCategory)] = typeof(KmErrorCategory),
        [nameof(OrcBundle)] = typeof(OrcBundle),
        [nameof(BundleStaging)] = typeof(BundleStaging),
        [nameof(UpgradePlanner)] = typeof(UpgradePlanner),
        [nameof(UpgradeJournal)] = typeof(UpgradeJournal),
        [nameof(UpgradePreflight)] = typeof(UpgradePreflight),
        [nameof(UpgradeResult)] = typeof(UpgradeResult),
        [nameof(UpgradeNodeResult)] = typeof(UpgradeNodeResult),
        [nameof(UpgradeStep)] = typeof(UpgradeStep),
        [nameof(ResumeCheck)] = typeof(ResumeCheck),
        [nameof(NodeObservation)] = typeof(NodeObservation),
    };

    /// <summary>
    /// The items as an array of <paramref name="elementType"/>, for Core's methods that take a typed
    /// list: PowerShell converts an object[] to a typed array only when the script can name the type.
    /// </summary>
    public static Array ArrayOf(Type elementType, IList items)
    {
        var array = Array.CreateInstance(elementType, items.Count);
        for (var i = 0; i < items.Count; i++) array.SetValue(items[i] is PSObject p ? p.BaseObject : items[i], i);
        return array;
    }

    /// <summary>The pre-flight's reader of a mixed inventory (local nodes directly, remote ones through their sessions).</summary>
    public static object NewNodeReader() => new NodeReader();
}

/// <summary>
/// Binds a script parameter to key manager nodes (<c>[KmNodeArgument()] [object[]] $Node</c>): the
/// script cannot name the KmNode type (see <see cref="ScriptSupport"/>), so this checks each item is
/// a node from Import-KmNode or New-KmNode and unwraps it, with an error that says so otherwise.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class KmNodeArgumentAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var items = inputData is IList list ? list.Cast<object?>() : new[] { inputData };
        return items.Select(Unwrap).ToArray();
    }

    internal static KmNode Unwrap(object? item) => (item is PSObject p ? p.BaseObject : item) switch
    {
        KmNode node => node,
        var other => throw new ArgumentTransformationMetadataException(
            $"'{other}' is not a key manager node: give the nodes from Import-KmNode or New-KmNode."),
    };
}
