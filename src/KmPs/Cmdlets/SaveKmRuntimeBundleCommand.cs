using System.Management.Automation;
using KmPs.Core.Bundles;
using KmPs.Core.Bundles.Download;
using System.Management.Automation.Runspaces;
using KmPs.Core.Hosting;
using KmPs.Core.Inventory;
using KmPs.Core.Status;
using KmPs.Core;

namespace KmPs.Cmdlets;

/// <summary>
/// Save-KmRuntimeBundle: fetches the key manager ParaTime's ORC of a version and network (its GitHub
/// release asset, a mirror, or one address), verifies it before anything can use it, and saves it.
/// The work is <see cref="BundleSaver"/> (KmPs.Core); this cmdlet reads the deployments from a node,
/// turns the download's progress into Write-Progress on the pipeline thread, and cancels on Ctrl+C.
/// </summary>
[Cmdlet(VerbsData.Save, "KmRuntimeBundle", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ReleaseSet)]
[OutputType(typeof(SavedKmBundle))]
public sealed class SaveKmRuntimeBundleCommand : KmCmdlet
{
    private const string ReleaseSet = "Release";
    private const string UriSet = "Uri";
    internal const int ProgressId = 12;

    /// <summary>The key manager version: 0.6.0, v0.6.0 or 0.6.0-testnet.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Version { get; set; } = "";

    /// <summary>Mainnet or Testnet; default: Testnet for a -testnet version, else the network of -Node/-Socket, else Mainnet.</summary>
    [Parameter]
    public KmNetwork? Network { get; set; }

    /// <summary>A mirror with the release layout &lt;base&gt;/&lt;tag&gt;/keymanager.orc; default GitHub's release downloads.</summary>
    [Parameter(ParameterSetName = ReleaseSet)]
    [ValidateNotNullOrEmpty]
    public string? BaseUri { get; set; }

    /// <summary>The address of one ORC file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    public string Uri { get; set; } = "";

    /// <summary>A folder (the file is named keymanager-&lt;version&gt;.orc) or a file path; default the current folder.</summary>
    [Parameter(Position = 1)]
    [Alias("Path", "OutFile")]
    public string? Destination { get; set; }

    /// <summary>Inventory nodes: the bundle must match a deployment of the key manager runtime their registry reports.</summary>
    [Parameter(ValueFromPipeline = true)]
    public KmNode[]? Node { get; set; }

    /// <summary>A node's control socket, instead of -Node.</summary>
    [Parameter]
    [Alias("Address")]
    [ValidateNotNullOrEmpty]
    public string? Socket { get; set; }

    [Parameter] public System.Uri? Proxy { get; set; }
    [Parameter] [Credential] public PSCredential? ProxyCredential { get; set; }
    [Parameter] public SwitchParameter ProxyUseDefaultCredentials { get; set; }
    [Parameter] public SwitchParameter NoProxy { get; set; }
    [Parameter] [Credential] public PSCredential? Credential { get; set; }
    [Parameter] public SwitchParameter AllowUnencryptedAuthentication { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int ConnectionTimeoutSeconds { get; set; } = 30;

    /// <summary>The longest wait for the server's answer or for the next bytes of the body.</summary>
    [Parameter]
    [ValidateRange(1, 3600)]
    public int OperationTimeoutSeconds { get; set; } = 60;

    /// <summary>Replace an existing file of that name with other contents.</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    private readonly List<KmNode> _nodes = new();

    protected override void ProcessRecord()
    {
        if (Node is not null) _nodes.AddRange(Node.Where(n => n is not null));
    }

    protected override void EndProcessing()
    {
        if (_nodes.Count > 0 && Socket is not null)
            ThrowKmError(new KmException(DownloadErrorIds.NodeAndSocket, KmErrorCategory.InvalidArgument, "Give -Node or -Socket, not both.", Socket));
        if (ProxyCredential is not null && ProxyUseDefaultCredentials)
            ThrowKmError(new KmException(DownloadErrorIds.ProxyCredentialConflict, KmErrorCategory.InvalidArgument,
                "Give -ProxyCredential or -ProxyUseDefaultCredentials, not both.", null));
        if (NoProxy && Proxy is not null)
            ThrowKmError(new KmException(DownloadErrorIds.ProxyConflict, KmErrorCategory.InvalidArgument, "Give -Proxy or -NoProxy, not both.", Proxy.ToString()));

        BundleSaveRequest request;
        try { request = Plan(); }
        catch (KmException e) { ThrowKmError(e); return; }

        var exists = File.Exists(request.Destination);
        if (!ShouldProcess(request.Destination,
                $"Download {request.Uri} (key manager {KmRelease.Label(request.Version, request.Network)}, {request.Network}) to {request.Partial}, " +
                $"verify its digests{(_nodes.Count > 0 || Socket is not null ? " and match it with the runtime's deployments" : "")}, then rename it to {request.Destination}" +
                (exists ? Force ? " (replacing the existing file if its bytes differ)" : " (the existing file is kept: with other bytes it is an error unless -Force)" : "")))
            return;

        try
        {
            if (_nodes.Count > 0 || Socket is not null) request = request with { Chain = ReadDeployments(request.Network) };
            var saved = Run(request);
            if (!saved.DeploymentVerified)
                WriteWarning($"Only the bundle's own digests were verified: the key manager releases publish no checksum, so nothing " +
                             $"ties {saved.Name} to what the network deployed. Give -Node or -Socket to match it with the runtime's deployments.");
            WriteObject(saved);
        }
        catch (KmException e) { WriteKmError(e, request.Destination); }
    }

    /// <summary>Version, network, address and destination from the parameters; nothing is read from the network yet.</summary>
    private BundleSaveRequest Plan()
    {
        var (version, network) = KmRelease.ParseVersion(Version, Network);
        if (Network is null && !Version.Trim().EndsWith(KmRelease.TestnetSuffix, StringComparison.OrdinalIgnoreCase)
            && NodeRuntimeId() is { } nodeRuntime && KmRelease.NetworkOf(nodeRuntime) is { } nodeNetwork)
            network = nodeNetwork;
        var uri = ParameterSetName == UriSet
            ? BundleSaver.CheckUri(Uri, Credential is not null, AllowUnencryptedAuthentication)
            : KmRelease.AssetUri(BaseUri is null ? null : BundleSaver.CheckUri(BaseUri), version, network);
        if (ParameterSetName != UriSet) BundleSaver.CheckUri(uri.ToString(), Credential is not null, AllowUnencryptedAuthentication);
        return new BundleSaveRequest
        {
            Uri = uri, Version = version, Network = network, Force = Force,
            Destination = BundleSaver.ResolveDestination(Destination, CurrentDirectory, version, network),
        };
    }

    private string? _nodeRuntime;
    private bool _nodeRuntimeRead;

    /// <summary>The nodes to read, each with where its socket is (-Socket: one node on this machine).</summary>
    private IEnumerable<(string Name, string Socket, INodeHost Host)> Sources() =>
        Socket is not null
            ? new[] { (Socket, Socket, HostOf((PSSession?)null, Socket)) }
            : _nodes.Select(n => (n.Name, n.Socket, HostOf(n)));

    /// <summary>The key manager runtime the given node runs (the inventory's, else its status'); null without a node.</summary>
    private string? NodeRuntimeId()
    {
        if (_nodeRuntimeRead) return _nodeRuntime;
        _nodeRuntimeRead = true;
        if (_nodes.Select(n => n.RuntimeId).FirstOrDefault(id => id is not null) is { } known) return _nodeRuntime = known;
        if (Sources().FirstOrDefault() is not { Host: not null } first) return null;
        try { return _nodeRuntime = Await(first.Host.GetStatusAsync(first.Socket, TimeSpan.FromSeconds(10), Stopping)).RuntimeId; }
        catch (KmException e) { throw DownloadErrors.DeploymentsUnreadable(first.Name + OnMachine(first.Host), e); }
    }

    private string SourceName => _nodes.Count > 0 ? _nodes[0].Name : Socket!;

    /// <summary>Registry/GetRuntime of the network's key manager, from the first node that answers (remote nodes through their session).</summary>
    private ChainDeployments ReadDeployments(KmNetwork network)
    {
        var id = KmRelease.RuntimeId(network);
        if (NodeRuntimeId() is { } nodeRuntime && !string.Equals(nodeRuntime, id, StringComparison.OrdinalIgnoreCase))
            throw DownloadErrors.NodeOtherNetwork(SourceName, nodeRuntime, network);
        KmException? last = null;
        var names = new List<string>();
        foreach (var (name, socket, host) in Sources())
        {
            names.Add(name + OnMachine(host));
            try
            {
                var runtime = Await(host.GetRuntimeAsync(socket, id, TimeSpan.FromSeconds(10), Stopping));
                // The node's version says what a deployment's bundle_checksum is (the manifest hash from 25.0).
                string? version = null;
                try { version = Await(host.GetStatusAsync(socket, TimeSpan.FromSeconds(10), Stopping)).SoftwareVersion; }
                catch (KmException e) { WriteVerbose($"{name}: cannot read its status, so its bundle_checksum is not compared ({e.Message})."); }
                return new ChainDeployments(runtime.WithNodeVersion(version), name);
            }
            catch (KmException e)
            {
                WriteVerbose($"{name}: cannot read the deployments ({e.Message}).");
                last = e;
            }
        }
        throw DownloadErrors.DeploymentsUnreadable(string.Join(", ", names), last!);
    }

    /// <summary>Runs the download on a worker and shows its progress here, on the pipeline thread; Ctrl+C cancels it at once.</summary>
    private SavedKmBundle Run(BundleSaveRequest request)
    {
        var options = new HttpDownloadOptions
        {
            Proxy = Proxy, NoProxy = NoProxy, ProxyUseDefaultCredentials = ProxyUseDefaultCredentials,
            ProxyCredential = ProxyCredential?.GetNetworkCredential(), Credential = Credential?.GetNetworkCredential(),
            ConnectTimeout = TimeSpan.FromSeconds(ConnectionTimeoutSeconds),
            UserAgent = $"OasisKeyManager/{typeof(SaveKmRuntimeBundleCommand).Assembly.GetName().Version?.ToString(3)}",
        };
        using var downloader = new BundleDownloader(options) { ReadTimeout = TimeSpan.FromSeconds(OperationTimeoutSeconds) };
        var activity = $"Downloading {System.IO.Path.GetFileName(request.Destination)}";
        WriteVerbose($"GET {request.Uri} into {request.Partial}");
        Task<SavedKmBundle>? task = null;
        try
        {
            var saved = CallHost(events => task = Task.Run(() =>
                BundleSaver.SaveAsync(downloader, request, new ProgressBar(events, activity), events.Verbose, Stopping)));
            WriteProgress(new ProgressRecord(ProgressId, activity, "done") { RecordType = ProgressRecordType.Completed });
            return saved;
        }
        catch (Exception e) when (e is PipelineStoppedException || (e is OperationCanceledException && Stopping.IsCancellationRequested))
        {
            // The worker closes the partial file as it stops; a moment for it, so that the next call finds it whole.
            try { task?.Wait(TimeSpan.FromSeconds(2)); }
            catch (AggregateException) { }
            throw new PipelineStoppedException();
        }
        catch (KmException)
        {
            WriteProgress(new ProgressRecord(ProgressId, activity, "failed") { RecordType = ProgressRecordType.Completed });
            throw;
        }
    }

    /// <summary>The download's progress as the bar CallHost draws on the pipeline thread: bytes of the size, the rate, the time left.</summary>
    private sealed class ProgressBar(IHostEvents events, string activity) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress p) => events.Progress(new HostProgress(ProgressId, activity, p.ToString(), p.Percent ?? -1,
            p.Remaining is { } r ? (int)Math.Min(int.MaxValue, Math.Ceiling(r.TotalSeconds)) : -1));
    }
}
