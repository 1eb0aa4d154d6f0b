using KmPs.Core.Status;
using KmPs.Simulator.Cluster;
using KmPs.Simulator.Shapes;

namespace KmPs.Simulator.Node;

/// <summary>
/// What the chain holds, read once for one answer: the consensus key manager status, the policy state,
/// the deployments and the registrations (the committee is derived from these, not read again).
/// </summary>
public sealed record ChainView(
    ChainKeyManagerStatus? Status,
    ChainPolicyState Policies,
    IReadOnlyList<ChainDeployment> Deployments,
    IReadOnlyList<ChainRegistration> Registrations)
{
    public static ChainView Read(Chain chain) =>
        new(chain.KeyManagerStatus(), chain.PolicyState(), chain.Deployments(), chain.Registrations());

    public IReadOnlyList<ChainRegistration> Committee(ulong epoch) => Chain.CommitteeOf(Status, Deployments, Registrations, epoch);

    public SimDeployment[] SimDeployments => Deployments
        .Select(d => new SimDeployment { Version = d.Version, ValidFrom = d.ValidFrom, Identity = d.Identity, ManifestHash = d.ManifestHash }).ToArray();
}

/// <summary>The moment an answer describes: one reading of the wall time, and the epoch and height it gives.</summary>
public readonly record struct ChainMoment(ulong Epoch, long Height, long LatestTimeUnix)
{
    public static ChainMoment Of(EpochClock clock)
    {
        var ms = clock.NowUnixMs;
        var height = clock.HeightAt(ms);
        // The latest block's time, as GetBlock reports it (whole seconds).
        return new(clock.At(ms), height, clock.BlockUnixMs(height) / 1000);
    }
}

/// <summary>
/// The node's control status (the fields <see cref="StatusShapes"/> encodes for each generation), a
/// pure function of one state snapshot, one chain view and one moment.
/// </summary>
public static class NodeStatusView
{
    public static SimNodeStatus Build(SimNodeContext ctx, SimNodeState s, ChainView chain, ChainMoment at)
    {
        var epoch = at.Epoch;
        var policy = chain.Policies.At(epoch);
        var generation = ctx.Generation;
        var pending = generation >= SchemaGeneration.V24 ? chain.Policies.PendingAt(epoch) : null;
        var probe = new SimNodeStatus { Generation = generation, SoftwareVersion = ctx.SoftwareVersion };
        if (!KeyManagerShapes.HasNextPolicy(probe)) pending = null;
        // The enclave registers the checksum of the policy it was given, or from 25.6 of the scheduled
        // next policy when there is one (keymanager/src/policy/cached.rs Policy::init).
        var policyChecksum = (pending ?? policy).Checksum(ctx.Setup.KmRuntimeId);
        var committee = chain.Committee(epoch);
        string? extraInfo = null;
        if (s.Secret is not null && s.Registration.WithSecret)
            extraInfo = Convert.ToBase64String(KmInitResponse.Encode(true, Sealing.Checksum(s.Secret), policyChecksum,
                SimKeys.Derive(ctx.Name, "rak-signature-" + epoch, 64)));
        var r = s.Registration;
        return new SimNodeStatus
        {
            Generation = generation,
            SoftwareVersion = ctx.SoftwareVersion,
            NodeSeed = ctx.Name,
            KmRuntimeId = ctx.Setup.KmRuntimeId,
            KmStatus = s.ReportedKmStatus,
            RuntimeVersion = ctx.Setup.Version.ToString(),
            MayGenerate = generation < SchemaGeneration.V24 && ctx.MayGenerateFlag,
            Epoch = epoch,
            Height = at.Height,
            LatestTimeUnix = at.LatestTimeUnix,
            Registered = r.Registered,
            // The descriptor the node last registered, with its own expiration (a node that stops
            // registering shows it running out, as control status does: RegistrationStatus.Descriptor).
            RegistrationExpiration = r.Expiration,
            LastRegistrationUnix = r.LastRegistrationUnix,
            LastAttemptUnix = r.LastAttemptUnix,
            LastAttemptSuccessful = r.LastAttemptOk,
            LastAttemptError = r.LastAttemptError,
            ExtraInfoBase64 = extraInfo,
            ConsensusChecksumHex = chain.Status?.Checksum,
            ConsensusInitialized = chain.Status?.IsInitialized ?? false,
            ConsensusNodes = committee.Count,
            CommitteeSeeds = committee.Select(c => c.Node).ToArray(),
            PolicyChecksumHex = Convert.ToHexString(policyChecksum).ToLowerInvariant(),
            Policy = policy,
            NextPolicy = pending,
            Deployments = chain.SimDeployments,
        };
    }
}
