using KmPs.Core.Status;

namespace KmPs.Simulator.Node;

/// <summary>
/// Everything about a running simulated node that changes, as one immutable value. The tick thread
/// and the gRPC threads share only a <see cref="StateCell{T}"/> holding the current one: a reader
/// (status, readiness, a peer's replication request) takes one snapshot and sees one consistent
/// state, a writer makes one transition (<c>with</c>) and swaps it in atomically. What never changes
/// while the process runs (name, config, bundle, CPU, generation) is in <see cref="SimNodeContext"/>.
/// </summary>
public sealed record SimNodeState
{
    /// <summary>A process that has just started: no secret, not registered, status "starting".</summary>
    public static readonly SimNodeState Initial = new();

    /// <summary>
    /// The master secret the enclave holds (loaded from local storage, generated, or replicated and
    /// sealed), or null. Never changed once set in a process; the array is never written to.
    /// </summary>
    public byte[]? Secret { get; init; }

    /// <summary>The registration worker's state (go/worker/registration/worker.go: RegistrationStatus).</summary>
    public RegistrationState Registration { get; init; } = RegistrationState.None;

    /// <summary>When the runtime host may load the enclave again after a panic (the sandbox's restart backoff).</summary>
    public UnsealRetry Unseal { get; init; } = UnsealRetry.Initial;

    /// <summary>A shutdown asked for through the control API (RequestShutdown), or null.</summary>
    public ShutdownRequest? Shutdown { get; init; }

    /// <summary>The epoch in which the enclave's failed init was last logged (once an epoch); MaxValue: never.</summary>
    public ulong RefusalLoggedEpoch { get; init; } = ulong.MaxValue;

    /// <summary>The fault set the last tick read (faults/&lt;node&gt;.json).</summary>
    public Faults Faults { get; init; } = Faults.None;

    /// <summary>
    /// The key manager worker's status word: ready once the node registered with its init response
    /// (extra_info, spec/oasis-control-api.md §4), starting before. Derived, so it can never disagree
    /// with the registration.
    /// </summary>
    public string KmStatus => Registration.WithSecret ? KmStatusWords.Ready : KmStatusWords.Starting;

    /// <summary>The status word control status shows: "stopped" from the moment a shutdown was asked for.</summary>
    public string ReportedKmStatus => Shutdown is not null ? KmStatusWords.Stopped : KmStatus;

    public bool IsReady => KmStatus == KmStatusWords.Ready;
}

/// <summary>
/// The node's registration as the registration worker tracks it: the last descriptor it registered
/// (epoch, expiration), whether that carried the enclave's init response, and the last attempt.
/// </summary>
/// <param name="Registered">A descriptor was registered in this process (peers serve only registered nodes).</param>
/// <param name="Epoch">The epoch of the last successful registration; MaxValue: none yet.</param>
/// <param name="Expiration">The last registered descriptor's expiration epoch.</param>
/// <param name="WithSecret">A descriptor with the init response (extra_info) was registered.</param>
public sealed record RegistrationState(
    bool Registered,
    ulong Epoch,
    ulong? Expiration,
    bool WithSecret,
    long? LastRegistrationUnix,
    long? LastAttemptUnix,
    bool LastAttemptOk,
    string? LastAttemptError)
{
    public static readonly RegistrationState None = new(false, ulong.MaxValue, null, false, null, null, true, null);
}

/// <summary>
/// The runtime host's restart backoff after the enclave panicked (go/runtime/host/sandbox: "runtime
/// terminated, restarting with backoff"): the next attempt's time and the backoff after it, doubling
/// from 250 ms up to 8 s.
/// </summary>
public sealed record UnsealRetry(DateTimeOffset NextAttempt, TimeSpan Backoff)
{
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan Max = TimeSpan.FromMilliseconds(8000);
    public static readonly UnsealRetry Initial = new(DateTimeOffset.MinValue, First);

    public bool Due(DateTimeOffset now) => now >= NextAttempt;

    /// <summary>After a failed attempt at <paramref name="now"/>: wait the current backoff, then double it (at most <see cref="Max"/>).</summary>
    public UnsealRetry After(DateTimeOffset now) =>
        new(now + Backoff, TimeSpan.FromMilliseconds(Math.Min(Backoff.TotalMilliseconds * 2, Max.TotalMilliseconds)));
}

/// <summary>
/// RequestShutdown on a node: a registered node deregisters first, at the next epoch transition,
/// then exits; an unregistered one exits at once (<see cref="AtEpoch"/> 0).
/// </summary>
public sealed record ShutdownRequest(ulong AtEpoch);
