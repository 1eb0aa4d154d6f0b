using KmPs.Core.Bundles;
using KmPs.Core.Config;
using KmPs.Core.Control;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.LocalState;
using KmPs.Core.Status;
using KmPs.Core.Wire;
using KmPs.Core;

namespace KmPs.Tests.Support;

/// <summary>A node host whose every call fails as an absent socket would; tests override what they answer.</summary>
public class UnreachableHost : INodeHost
{
    private static Task<T> No<T>() => Task.FromException<T>(new KmException("SocketNotFound", KmErrorCategory.ConnectionError, "no socket"));

    public virtual string Machine => "";
    public virtual SocketAddress Address(string socket) => SocketAddress.ParseAbsolute(socket);
    public virtual Task<StatusRead> GetStatusCborAsync(string socket, TimeSpan timeout, CancellationToken ct) => No<StatusRead>();
    public virtual Task<RegistryRuntime> GetRuntimeAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) => No<RegistryRuntime>();
    public virtual Task<KmStatusAnswer> GetKeyManagerStatusAsync(string socket, string runtimeId, TimeSpan timeout, CancellationToken ct) => No<KmStatusAnswer>();
    public virtual Task<IReadOnlyList<string>> GetKmBundlesAsync(string configPath, CancellationToken ct) => No<IReadOnlyList<string>>();
    public virtual Task<KmNode> CompleteNodeAsync(KmNode node, CancellationToken ct) => No<KmNode>();
    public virtual Task<NodeStatePath> ResolveStateAsync(NodeStateRef node, CancellationToken ct) => No<NodeStatePath>();
    public virtual Task<LocalStateInfo> GetStateInfoAsync(NodeStateRef node, CancellationToken ct) => No<LocalStateInfo>();
    public virtual Task<NodeStopCheck> CheckStoppedAsync(string socket, TimeSpan timeout, CancellationToken ct) => No<NodeStopCheck>();
    public virtual Task<LocalStateRecord> WipeAsync(WipeRequest request, CancellationToken ct) => No<LocalStateRecord>();
    public virtual Task<LocalStateRecord> RestoreAsync(RestoreRequest request, CancellationToken ct) => No<LocalStateRecord>();
    public virtual Task<BundleChangePreview> PreviewBundleChangeAsync(BundleChangeRequest request, string? localOrcPath, CancellationToken ct) => No<BundleChangePreview>();
    public virtual Task<KmBundleChange> SetBundleAsync(BundleChangeRequest request, string localOrcPath, IHostEvents events, CancellationToken ct) => No<KmBundleChange>();
    public virtual Task<KmLifecycleResult> StopAsync(KmNode node, bool useControlApi, TimeSpan timeout, IHostEvents events, CancellationToken ct) => No<KmLifecycleResult>();
    public virtual Task<KmLifecycleResult> StartAsync(KmNode node, TimeSpan timeout, IHostEvents events, CancellationToken ct) => No<KmLifecycleResult>();
    public virtual Task<LogScan> ScanLogAsync(string path, string? name, int tail, CancellationToken ct) => No<LogScan>();
}
