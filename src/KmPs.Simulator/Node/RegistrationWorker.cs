using KmPs.Core.Status;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Shapes;

namespace KmPs.Simulator.Node;

/// <summary>What one registration attempt gives: the registration state after it, and the descriptor to write (null when it failed).</summary>
/// <param name="Error">The attempt's error (null on success), as control status shows it in last_attempt_error_message.</param>
/// <param name="BecameReady">This attempt is the first that carries the init response: the key manager is now ready.</param>
public sealed record RegistrationAttempt(RegistrationState Next, ChainRegistration? Descriptor, string? Error, bool BecameReady);

/// <summary>
/// The registration worker (go/worker/registration/worker.go), as pure functions of the node's
/// state: when it registers, and what an attempt registers or why it fails.
/// </summary>
public static class RegistrationWorker
{
    /// <summary>How long a descriptor lives: registerNode sets Expiration to the epoch + 2.</summary>
    public const ulong Lifetime = 2;

    public const string SimulatedFailure = "registration: failed to register node: simulated registration failure";

    /// <summary>
    /// The registry refuses a node whose runtime version has no deployment with its attested enclave
    /// (go/registry/api/api.go VerifyNodeRuntimeEnclaveIDs: "node running unknown enclave version" when
    /// no deployment has the version; an enclave its TEE constraints do not list fails verification).
    /// </summary>
    public const string UnknownEnclaveVersion = "registration: failed to register node: node running unknown enclave version";

    /// <summary>
    /// A node registers once an epoch, and again as soon as it holds the secret, to publish its init
    /// response; not after a shutdown was asked for (it deregisters instead).
    /// </summary>
    public static bool Due(SimNodeState s, ulong epoch) =>
        s.Shutdown is null && (epoch != s.Registration.Epoch || (s.Secret is not null && !s.Registration.WithSecret));

    /// <summary>
    /// One attempt at <paramref name="epoch"/>: fails with the simulated fault, or when the registry
    /// would refuse the enclave; otherwise a descriptor (with the init response's checksum once the node
    /// holds the secret, extra_info null before) expiring <see cref="Lifetime"/> epochs later.
    /// </summary>
    public static RegistrationAttempt Attempt(SimNodeContext ctx, SimNodeState s, IEnumerable<ChainDeployment> deployments, ulong epoch, long unixNow)
    {
        var r = s.Registration with { LastAttemptUnix = unixNow };
        string? error = null;
        if (s.Faults.RegistrationFails) error = SimulatedFailure;
        else if (!deployments.Any(d => d.Version == ctx.Setup.Version.ToString() && SimPolicy.Same(d.Identity ?? "", ctx.Setup.Identity)))
            error = UnknownEnclaveVersion;
        if (error is not null) return new(r with { LastAttemptOk = false, LastAttemptError = error }, null, error, false);

        var descriptor = new ChainRegistration
        {
            Node = ctx.Name,
            Socket = ctx.Setup.Socket,
            P2p = ctx.P2pAddress,
            Version = ctx.Setup.Version.ToString(),
            Identity = ctx.Setup.Identity.ToString(),
            Checksum = s.Secret is null ? null : Hex.Encode(Sealing.Checksum(s.Secret)),
            Epoch = epoch,
            Expiration = epoch + Lifetime,
            UnixTime = unixNow,
        };
        var withSecret = r.WithSecret || s.Secret is not null;
        var next = r with
        {
            Registered = true, Epoch = epoch, Expiration = epoch + Lifetime, LastRegistrationUnix = unixNow,
            LastAttemptOk = true, LastAttemptError = null, WithSecret = withSecret,
        };
        return new(next, descriptor, null, withSecret && !r.WithSecret);
    }
}
