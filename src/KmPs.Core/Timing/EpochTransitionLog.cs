namespace KmPs.Core.Timing;

/// <summary>
/// Turns a poller's epoch readings into transitions: each time the epoch goes up, the new epoch
/// began between the last sighting of the old one and now. Keeps the most recent ones only.
/// A reading older than the latest one is ignored (two pollers race); an epoch going back starts over.
/// Thread-safe: a progress loop and an estimator may share it.
/// </summary>
public sealed class EpochTransitionLog(int capacity = 64)
{
    private readonly object _gate = new();
    private readonly List<EpochTransition> _transitions = new();
    private ulong? _lastEpoch;
    private DateTimeOffset _lastSeenAt;

    /// <summary>The epoch most recently seen, or null.</summary>
    public ulong? LastEpoch { get { lock (_gate) return _lastEpoch; } }

    /// <summary>Records one reading of the epoch at a local time.</summary>
    public void Observe(ulong epoch, DateTimeOffset at)
    {
        lock (_gate)
        {
            if (_lastEpoch is not { } last)
            {
                _lastEpoch = epoch;
                _lastSeenAt = at;
                return;
            }
            // Readings from two threads can arrive a little out of order: an older one adds nothing.
            if (at < _lastSeenAt) return;
            if (epoch < last)
            {
                // The node went back (restored, another node behind the socket): what came before
                // no longer measures this chain.
                _transitions.Clear();
                _lastEpoch = epoch;
                _lastSeenAt = at;
                return;
            }
            if (epoch > last)
            {
                _transitions.Add(new EpochTransition(epoch, at, _lastSeenAt));
                if (_transitions.Count > capacity) _transitions.RemoveAt(0);
                _lastEpoch = epoch;
            }
            _lastSeenAt = at;
        }
    }

    public IReadOnlyList<EpochTransition> Transitions
    {
        get { lock (_gate) return _transitions.ToArray(); }
    }
}
