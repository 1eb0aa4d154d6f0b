namespace KmPs.Simulator.Node;

/// <summary>
/// One immutable value shared between threads: read it whole (<see cref="Value"/>), change it with a
/// pure transition (<see cref="Update"/>) that is retried on the newer value when another thread
/// swapped one in first (compare-and-swap), so no writer's transition is lost and no reader sees half
/// of one. A transition may run more than once: it must have no side effects.
/// </summary>
public sealed class StateCell<T>(T initial) where T : class
{
    private T _value = initial;

    public T Value => Volatile.Read(ref _value);

    /// <summary>Applies <paramref name="transition"/> atomically; returns the value it replaced and the value now held.</summary>
    public (T Old, T New) Update(Func<T, T> transition)
    {
        var spin = new SpinWait();
        while (true)
        {
            var old = Volatile.Read(ref _value);
            var next = transition(old);
            if (ReferenceEquals(next, old) || ReferenceEquals(Interlocked.CompareExchange(ref _value, next, old), old)) return (old, next);
            spin.SpinOnce();
        }
    }
}
