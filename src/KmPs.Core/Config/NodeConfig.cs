using System.Text;
using KmPs.Core.Bundles;
using KmPs.Core.Status;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KmPs.Core.Config;

/// <summary>The two config file layouts of oasis-node.</summary>
public enum ConfigLayout
{
    /// <summary>22.2.x: every key is a CLI flag (datadir, runtime.mode, worker.keymanager.runtime.id, ...).</summary>
    V22_2,
    /// <summary>23.0+: one strictly parsed config.yml (mode, common.data_dir, keymanager.runtime_id, ...).</summary>
    V23,
}

/// <summary>One entry of runtime.paths: as written, and resolved to an absolute path.</summary>
public sealed record RuntimePathEntry(int Index, string Value, string FullPath, long Line, long Column)
{
    internal YamlScalarNode Node { get; init; } = null!;
}

/// <summary>
/// A key manager node's config file, in either layout. Relative paths (data dir, runtime.paths) are
/// resolved against the config file's folder: oasis-node resolves them against its working directory,
/// which cannot be known from here, and the config's folder is the one a reader of the file sees.
/// Real configs use absolute paths. The 23.0+ ${VAR} substitution is not done.
/// </summary>
public sealed class NodeConfig
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public string Path { get; }
    public ConfigLayout Layout { get; }
    public string Mode { get; }
    public string? DataDir { get; }
    /// <summary><see cref="DataDir"/> resolved against the config's folder.</summary>
    public string? DataDirPath { get; }
    public IReadOnlyList<RuntimePathEntry> RuntimePaths { get; }
    /// <summary>The key manager runtime id, lower-case hex.</summary>
    public string KmRuntimeId { get; }
    public string? LogFile { get; }
    /// <summary><see cref="LogFile"/> resolved as oasis-node does: relative to the data dir.</summary>
    public string? LogFilePath { get; }
    /// <summary>Where the node's control socket is when the config moves it (24.0+ <c>common.internal_socket_path</c>, 22.2's hidden <c>debug.grpc.internal.socket_path</c>), as written.</summary>
    public string? InternalSocket { get; }
    /// <summary>
    /// The control socket the node listens on, absolute: <see cref="InternalSocket"/> resolved against
    /// the config's folder, else &lt;data dir&gt;/internal.sock (oasis-node InternalSocketPath()); null without a data dir.
    /// </summary>
    public string? SocketPath { get; }
    /// <summary>The file's text as read (without a byte order mark).</summary>
    public string Text { get; }
    /// <summary>Hex SHA-512/256 of the bytes read, to notice a file that changes before it is replaced.</summary>
    public string ContentHash { get; }
    /// <summary>True when the file began with a UTF-8 byte order mark (kept on save).</summary>
    public bool HasByteOrderMark { get; }

    internal YamlMappingNode Root { get; }

    public string Folder => System.IO.Path.GetDirectoryName(Path)!;

    private NodeConfig(string path, string text, byte[] bytes, bool bom)
    {
        Path = path;
        Text = text;
        ContentHash = Sha512_256.HashHex(bytes);
        HasByteOrderMark = bom;
        Root = YamlText.LoadRoot(text, path) switch
        {
            YamlMappingNode m => m,
            null => throw ConfigErrors.NotKeyManager(path, "it is empty"),
            var other => throw ConfigErrors.InvalidValue(path, "the top level", "must be a mapping of settings", other.Start.Line, other.Start.Column),
        };
        Layout = DetectLayout(Root);
        var keys = Layout == ConfigLayout.V22_2 ? Keys.V22 : Keys.V23;

        Mode = Scalar(keys.Mode) ?? throw ConfigErrors.NotKeyManager(path, $"it sets no {keys.Mode}");
        if (Mode != "keymanager") throw ConfigErrors.NotKeyManager(path, $"{keys.Mode} is '{Mode}', not 'keymanager'");
        var id = Scalar(keys.KmRuntimeId) ?? throw ConfigErrors.NotKeyManager(path, $"it sets no {keys.KmRuntimeId}");
        KmRuntimeId = RuntimeId.Normalize(id, $"key manager runtime id ({keys.KmRuntimeId} in '{path}')");
        if (!RuntimeId.IsKeyManager(KmRuntimeId))
            throw ConfigErrors.NotKeyManager(path, $"{keys.KmRuntimeId} {KmRuntimeId} is not a key manager runtime id (its key manager flag bit is not set)");

        DataDir = Scalar(keys.DataDir);
        DataDirPath = DataDir is null ? null : ResolvePath(DataDir);
        LogFile = Scalar(keys.LogFile);
        LogFilePath = LogFile is null ? null
            : System.IO.Path.IsPathRooted(LogFile) ? LogFile
            : DataDirPath is null ? null : System.IO.Path.Combine(DataDirPath, LogFile);
        RuntimePaths = ReadRuntimePaths(keys.RuntimePaths);
        InternalSocket = Scalar(keys.InternalSocket) is { Length: > 0 } socket ? socket : null;
        SocketPath = InternalSocket is not null ? ResolvePath(InternalSocket)
            : DataDirPath is null ? null : System.IO.Path.Combine(DataDirPath, Control.SocketAddress.SocketFileName);
    }

    /// <summary>Reads and parses a config file.</summary>
    /// <exception cref="KmException">ConfigNotFound, ConfigUnreadable, ConfigInvalidYaml, ConfigInvalidValue, ConfigNotKeyManager, InvalidRuntimeId.</exception>
    public static NodeConfig Load(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new KmException(ConfigErrorIds.ConfigNotFound, KmErrorCategory.ObjectNotFound, $"The node config '{fullPath}' does not exist.", fullPath)
            { RecommendedAction = "Give the path of the node's config file (the one oasis-node is started with via --config)." };
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(fullPath, e.Message, e);
        }
        var bom = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble);
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes, bom ? 3 : 0, bytes.Length - (bom ? 3 : 0));
        }
        catch (DecoderFallbackException e)
        {
            throw Unreadable(fullPath, "it is not UTF-8 text", e);
        }
        return new NodeConfig(fullPath, text, bytes, bom);
    }

    /// <summary>Parses config text; <paramref name="path"/> is where it lives (for relative paths and messages).</summary>
    public static NodeConfig Parse(string text, string path) =>
        new(System.IO.Path.GetFullPath(path), text, Encoding.UTF8.GetBytes(text), bom: false);

    /// <summary>A path from the config, absolute: relative ones against the config's folder.</summary>
    public string ResolvePath(string value) => System.IO.Path.GetFullPath(value, Folder);

    /// <summary>The runtime.paths entries whose bundle is for the key manager runtime (errors opening any entry propagate).</summary>
    public IReadOnlyList<RuntimePathEntry> FindKmBundles(Func<string, OrcBundle>? open = null)
    {
        open ??= OrcBundle.Open;
        return RuntimePaths.Where(p => open(p.FullPath).RuntimeId == KmRuntimeId).ToList();
    }

    /// <summary>The one runtime.paths entry of the key manager runtime, or null when there is none.</summary>
    /// <exception cref="KmException">ConfigTwoKmBundles when there is more than one (22.2-24.x refuse to start so).</exception>
    public RuntimePathEntry? FindKmBundle(Func<string, OrcBundle>? open = null)
    {
        var found = FindKmBundles(open);
        if (found.Count > 1) throw ConfigErrors.TwoKmBundles(Path, KmRuntimeId, found.Select(f => f.Value));
        return found.SingleOrDefault();
    }

    /// <summary>Keys a 23.0+ node would refuse (see <see cref="KnownConfigKeys"/>); none for 22.2, which ignores unknown keys.</summary>
    public IReadOnlyList<UnknownConfigKey> FindUnknownKeys(OasisVersion? nodeVersion = null) =>
        Layout == ConfigLayout.V23 ? KnownConfigKeys.FindUnknown(Root, nodeVersion) : Array.Empty<UnknownConfigKey>();

    private static ConfigLayout DetectLayout(YamlMappingNode root) =>
        root.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value is "mode" or "common" or "keymanager")
            ? ConfigLayout.V23 : ConfigLayout.V22_2;

    private YamlNode? Find(string key) => YamlPath.Find(Root, key, viperStyle: Layout == ConfigLayout.V22_2);

    private string? Scalar(string key)
    {
        var node = Find(key);
        if (YamlText.IsNull(node)) return null;
        if (node is YamlScalarNode s) return s.Value;
        throw ConfigErrors.InvalidValue(Path, key, "must be a single value, not a list or mapping", node!.Start.Line, node.Start.Column);
    }

    private IReadOnlyList<RuntimePathEntry> ReadRuntimePaths(string key)
    {
        var node = Find(key);
        if (YamlText.IsNull(node)) return Array.Empty<RuntimePathEntry>();
        if (node is not YamlSequenceNode seq)
            throw ConfigErrors.InvalidValue(Path, key, "must be a list of bundle paths", node!.Start.Line, node.Start.Column);
        return seq.Children.Select((item, i) => item is YamlScalarNode s && !YamlText.IsNull(s)
                ? new RuntimePathEntry(i, s.Value!, ResolvePath(s.Value!), s.Start.Line, s.Start.Column) { Node = s }
                : throw ConfigErrors.InvalidValue(Path, $"{key}[{i}]", "must be a bundle path", item.Start.Line, item.Start.Column))
            .ToList();
    }

    private static KmException Unreadable(string path, string why, Exception e) =>
        new(ConfigErrorIds.ConfigUnreadable, KmErrorCategory.ReadError, $"The node config '{path}' cannot be read: {why}", path, e)
        { RecommendedAction = "Check the file's permissions, or run as a user that can read it." };

    /// <summary>Where each setting lives in each layout.</summary>
    private sealed record Keys(string Mode, string DataDir, string RuntimePaths, string KmRuntimeId, string LogFile, string InternalSocket)
    {
        // Socket: spec oasis-control-api.md §1 (v22.2.13 grpc.go hidden flag; v24.0+ common.go InternalSocketPath()).
        public static readonly Keys V22 = new("runtime.mode", "datadir", "runtime.paths", "worker.keymanager.runtime.id", "log.file", "debug.grpc.internal.socket_path");
        public static readonly Keys V23 = new("mode", "common.data_dir", "runtime.paths", "keymanager.runtime_id", "common.log.file", "common.internal_socket_path");
    }
}
