using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace KmPs.Loading;

/// <summary>
/// The module's own AssemblyLoadContext for the packages it depends on (Grpc.Net.Client, YamlDotNet,
/// System.Formats.Cbor, BouncyCastle, ...). They sit in the module's <c>dependencies/</c> folder,
/// where the default context that every module shares never finds them by itself: when KmPs.Core
/// asks for one, the default context's Resolving event comes here and gets it from this context.
/// It does so also when another module already put another version of the same package into the
/// default context (the version mismatch raises the event too; tested in pwsh both ways), so
/// neither module breaks the other. Our own assemblies (KmPs.dll, KmPs.Core.dll) stay in the default
/// context, so scripts can still name their types (<c>catch [KmPs.Core.KmException]</c>): PowerShell's
/// type literals do not see types of other contexts, by design. This is PowerShell's documented
/// pattern for dependency conflicts ("Resolving PowerShell module assembly dependency conflicts").
/// Limit, by .NET's binding rules: a *higher* version already in the default context satisfies the
/// request without asking, and is used.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    public const string FolderName = "dependencies";

    private static readonly string Folder = Path.Combine(Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location)!, FolderName);
    private static readonly Lazy<DependencyLoadContext> Instance = new(() => new DependencyLoadContext());
    private static int _registered;

    private DependencyLoadContext() : base("OasisKeyManager") { }

    protected override Assembly? Load(AssemblyName name)
    {
        var path = Path.Combine(Folder, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    /// <summary>
    /// Hooks the default context's resolution of the packages. Runs when KmPs.dll's first code runs
    /// (module initializer) and again from Import-Module (harmless). Where a host already has the same
    /// versions in the default context (one that references KmPs.Core, as the tests do), it never asks.
    /// </summary>
    // CA2255 warns libraries off module initializers; a plugin loaded by a host it does not control is
    // the case they exist for: the handler must be in place before any code touches a Core type.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        AppDomain.CurrentDomain.AssemblyResolve += ResolvePackage;
    }

    internal static void Unregister()
    {
        if (Interlocked.Exchange(ref _registered, 0) == 0) return;
        AppDomain.CurrentDomain.AssemblyResolve -= ResolvePackage;
    }

    /// <summary>Only our own assemblies' requests: another module that asks for a package of the same name gets its own, never ours.</summary>
    private static Assembly? ResolvePackage(object? sender, ResolveEventArgs e)
    {
        var name = new AssemblyName(e.Name);
        if (e.RequestingAssembly is not { } requester || !Ours.Contains(requester.GetName().Name)) return null;
        return File.Exists(Path.Combine(Folder, name.Name + ".dll")) ? Instance.Value.LoadFromAssemblyName(name) : null;
    }

    private static readonly HashSet<string?> Ours = new(StringComparer.Ordinal) { "KmPs", "KmPs.Core" };
}

/// <summary>Import-Module and Remove-Module hooks: the Resolving handler lives as long as the module is imported.</summary>
public sealed class ModuleLoadHooks : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => DependencyLoadContext.Register();

    public void OnRemove(PSModuleInfo psModuleInfo) => DependencyLoadContext.Unregister();
}
