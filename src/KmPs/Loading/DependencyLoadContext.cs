using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace KmPs.Loading;

/// <summary>
/// The module's own AssemblyLoadContext. KmPs.Core and everything it uses (Grpc.Net.Client,
/// YamlDotNet, System.Formats.Cbor, BouncyCastle, ...) sit in the module's <c>dependencies/</c>
/// folder and load here, not in the default context that every module shares: another module that
/// ships other versions of them cannot break this one, nor this one it. This is PowerShell's
/// documented pattern for dependency conflicts ("Resolving PowerShell module assembly dependency
/// conflicts": the cmdlet assembly in the default context, its engine behind a Resolving handler).
/// What the runtime and PowerShell provide (System.*, System.Management.Automation) is not in that
/// folder and comes from the default context, so PowerShell's types stay shared.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    public const string FolderName = "dependencies";
    /// <summary>The one assembly of ours the cmdlets reference; the rest is found from it, inside this context.</summary>
    private const string EngineAssembly = "KmPs.Core";

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
    /// Hooks the default context's resolution of KmPs.Core. Runs when KmPs.dll's first code runs
    /// (module initializer) and again from Import-Module (harmless). Where KmPs.Core is already in the
    /// default context (a host that references it, as the tests do), the default context never asks.
    /// </summary>
    // CA2255 warns libraries off module initializers; a plugin loaded by a host it does not control is
    // the case they exist for: the handler must be in place before any code touches a Core type.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        AssemblyLoadContext.Default.Resolving += ResolveEngine;
    }

    internal static void Unregister()
    {
        if (Interlocked.Exchange(ref _registered, 0) == 0) return;
        AssemblyLoadContext.Default.Resolving -= ResolveEngine;
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == EngineAssembly && File.Exists(Path.Combine(Folder, EngineAssembly + ".dll"))
            ? Instance.Value.LoadFromAssemblyName(name)
            : null;
}

/// <summary>Import-Module and Remove-Module hooks: the Resolving handler lives as long as the module is imported.</summary>
public sealed class ModuleLoadHooks : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => DependencyLoadContext.Register();

    public void OnRemove(PSModuleInfo psModuleInfo) => DependencyLoadContext.Unregister();
}
