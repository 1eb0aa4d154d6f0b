using System.Text.Json;
using System.Text.Json.Serialization;
using KmPs.Core.Status;

namespace KmPs.Simulator.Cluster;

/// <summary>cluster.json: what every node process of a simulated cluster shares.</summary>
public sealed class ClusterSpec
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNameCaseInsensitive = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    public string KmRuntimeId { get; set; } = "4000000000000000000000000000000000000000000000004a1a53dff2ae482d";
    public SchemaGeneration Generation { get; set; } = SchemaGeneration.V24;
    /// <summary>Unix milliseconds of epoch 0... plus <see cref="FirstEpoch"/>.</summary>
    public long GenesisUnixMs { get; set; }
    public int EpochIntervalMs { get; set; } = 1000;
    public ulong FirstEpoch { get; set; } = 1;
    public List<ClusterNode> Nodes { get; set; } = new();
    /// <summary>The oasis-core version 24+ nodes report (25.0+: bundle_checksum; 25.1+: KeyManager.Secrets; 25.6+: next_policy); null: 24.3.2.</summary>
    public string? SoftwareVersion { get; set; }
    /// <summary>Path of the simulator DLL that start-node launches.</summary>
    public string? SimulatorDll { get; set; }

    public static ClusterSpec Load(ClusterLayout layout) =>
        JsonSerializer.Deserialize<ClusterSpec>(File.ReadAllText(layout.SpecFile), Json)
        ?? throw new InvalidDataException($"{layout.SpecFile} is empty");

    public void Save(ClusterLayout layout) => AtomicFile.WriteAllText(layout.SpecFile, JsonSerializer.Serialize(this, Json));

    public ClusterNode Node(string name) =>
        Nodes.FirstOrDefault(n => n.Name == name) ?? throw new ArgumentException($"no node '{name}' in the cluster");
}

public sealed class ClusterNode
{
    public string Name { get; set; } = "";
    /// <summary>Generation override for mixed clusters; null = the cluster's.</summary>
    public SchemaGeneration? Generation { get; set; }
    /// <summary>22.2/23.0 may_generate flag (24+ lets any committee node generate).</summary>
    public bool MayGenerate { get; set; }
}

/// <summary>
/// The cluster's shared epoch clock: wall time since genesis divided by the interval. The wall time
/// comes from a <see cref="TimeProvider"/> (the system's unless one is given), so a node's pieces can
/// be run on a fake clock in unit tests.
/// </summary>
public sealed class EpochClock(long genesisUnixMs, int intervalMs, ulong firstEpoch, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public static EpochClock Of(ClusterSpec spec, TimeProvider? time = null) => new(spec.GenesisUnixMs, spec.EpochIntervalMs, spec.FirstEpoch, time);

    public int IntervalMs => intervalMs;

    /// <summary>Where the wall time comes from.</summary>
    public TimeProvider Time => _time;

    /// <summary>The wall time now, unix milliseconds: read it once to derive an epoch and a height that agree.</summary>
    public long NowUnixMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public ulong Now => At(NowUnixMs);

    public ulong At(long unixMs) => unixMs <= genesisUnixMs ? firstEpoch : firstEpoch + (ulong)((unixMs - genesisUnixMs) / intervalMs);

    /// <summary>Time until the given epoch begins (zero if it has).</summary>
    public TimeSpan Until(ulong epoch)
    {
        if (epoch <= Now) return TimeSpan.Zero;
        var startMs = genesisUnixMs + (long)(epoch - firstEpoch) * intervalMs;
        return TimeSpan.FromMilliseconds(Math.Max(0, startMs - NowUnixMs));
    }

    /// <summary>
    /// Blocks per epoch. Like the VRF beacon (go/consensus/cometbft/apps/beacon/backend_vrf.go
    /// scheduleEpochTransitionBlock: next transition at the transition height + interval), every
    /// epoch is exactly this many blocks; blocks come at a steady interval/10 pace.
    /// </summary>
    public const int BlocksPerEpoch = 10;

    public ulong FirstEpoch => firstEpoch;
    public long GenesisUnixMs => genesisUnixMs;

    /// <summary>Block height: ten blocks an epoch, like a fast test network. Height 1 is the genesis block.</summary>
    public long Height => HeightAt(NowUnixMs);

    public long HeightAt(long unixMs) => unixMs <= genesisUnixMs ? 1 : (unixMs - genesisUnixMs) * BlocksPerEpoch / intervalMs + 1;

    /// <summary>The first block of an epoch (epochs before the first one have none).</summary>
    public long StartHeight(ulong epoch) => 1 + (long)(epoch - firstEpoch) * BlocksPerEpoch;

    /// <summary>The epoch a block belongs to.</summary>
    public ulong EpochAtHeight(long height) => firstEpoch + (ulong)((Math.Max(1, height) - 1) / BlocksPerEpoch);

    /// <summary>When a block was made, in unix milliseconds (the wire carries it in whole seconds).</summary>
    public long BlockUnixMs(long height) => genesisUnixMs + (Math.Max(1, height) - 1) * intervalMs / BlocksPerEpoch;
}

/// <summary>Write-then-rename, so a reader in another process never sees half a file.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    public static T? ReadJson<T>(string path) where T : class
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return File.Exists(path) ? JsonSerializer.Deserialize<T>(File.ReadAllText(path), ClusterSpec.Json) : null;
            }
            catch (Exception e) when ((e is IOException or JsonException) && attempt < 3)
            {
                Thread.Sleep(5);
            }
        }
    }
}
