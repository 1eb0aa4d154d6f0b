using KmPs.Core.Wire;

namespace KmPs.Explorer.Model;

/// <summary>
/// Memoized answers of the model host: the simulator's CBOR for a status, a registry runtime or a
/// key manager status is built, encoded and decoded once per distinct content (its key names every
/// input the shape is built from) and the decoded, immutable tree is handed out again. One run reads
/// the same node's status many times at one model instant (pre-flight, guard, verification, stop
/// report), and the same status recurs across schedules. Every 64th hit is built again and compared,
/// so a key that misses an input fails loudly instead of answering a stale shape.
/// </summary>
public static class ShapeCache
{
    private const int VerifyEvery = 64;
    private const int MaxEntries = 200_000;
    private static readonly Dictionary<string, CborNode> Entries = new(StringComparer.Ordinal);
    private static long _hits;

    public static long Hits => _hits;
    public static long Misses { get; private set; }

    public static CborNode Get(string key, Func<CborNode> build)
    {
        lock (Entries)
        {
            if (Entries.TryGetValue(key, out var cached))
            {
                if (++_hits % VerifyEvery == 0 && !build().Equals(cached))
                    throw new InvalidOperationException($"the model's shape cache answered a stale shape for '{key}': its key misses an input");
                return cached;
            }
            Misses++;
            if (Entries.Count >= MaxEntries) Entries.Clear();
            var built = build();
            Entries[key] = built;
            return built;
        }
    }
}
